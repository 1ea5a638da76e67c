// The two entry points of `diff`: two manifest sets, or two images of an images.json.
import { readImagesStrict } from "../publish/read-strict.js";
import { diffPair, diffSnapshots, type DiffReport } from "./compare.js";
import { findRecord, imageSnapshot } from "./image-records.js";
import { readManifestSet, type ManifestSetSelection } from "./manifest-set.js";
import { manifestSnapshot } from "./snapshot.js";

export interface ManifestDiffOptions {
  /** The git repository refs are read from; default the current directory. */
  repo?: string | undefined;
  cwd?: string | undefined;
  selection?: ManifestSetSelection | undefined;
}

export async function diffManifestSets(from: string, to: string, options: ManifestDiffOptions = {}): Promise<DiffReport> {
  const read = (arg: string) => readManifestSet(arg, { ...(options.repo ? { repo: options.repo } : {}), ...(options.cwd ? { cwd: options.cwd } : {}), selection: options.selection ?? {} });
  const [a, b] = [await read(from), await read(to)];
  return diffSnapshots(a.side, a.manifests.map((m) => manifestSnapshot(m)), b.side, b.manifests.map((m) => manifestSnapshot(m)));
}

export async function diffImages(imagesFile: string, from: string, to: string, target?: string): Promise<DiffReport> {
  const doc = await readImagesStrict(imagesFile);
  const [a, b] = [findRecord(doc, imagesFile, from, target), findRecord(doc, imagesFile, to, target)];
  return diffPair({ label: a.name, type: "image" }, await imageSnapshot(a), { label: b.name, type: "image" }, await imageSnapshot(b));
}
