// `images merge`: the images.json files of parallel build jobs become one, as if one build had
// published every image. A name + target is one image; two inputs that name it with different
// artifacts (qcow2 digest, AMI IDs) are a conflict and nothing is written.
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { WorkError } from "../errors/index.js";
import { writeFileAtomic } from "./atomic-write.js";
import { IMAGES_FILE, IMAGES_FILE_VERSION, TFVARS_FILE, deriveFiles, isBootTested, mergeImage, writeDerivedFiles, type DerivedFiles, type ImageRecord, type ImagesFile, type PublishOptions } from "./images-json.js";
import { withFileLock } from "./lock.js";
import { readImagesStrict } from "./read-strict.js";
import { pointsAtUntested, readTfvarsAmis } from "./tfvars-refs.js";

export interface MergeInput {
  file: string;
  doc: ImagesFile;
}

export interface MergeConflict {
  name: string;
  target: string;
  files: [string, string];
  artifacts: [string, string];
}

/** What makes two records the same image: the qcow2 digest, or the region → AMI map. */
export function artifactOf(record: ImageRecord): string {
  if (record.target === "qemu") return `qcow2 ${record.qemu?.digest ?? "?"}`;
  const amis = Object.entries(record.amis ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `amis ${amis.map(([region, ami]) => `${region}=${ami}`).join(",")}`;
}

/**
 * Of two records of the same artifact, the one that says more about it wins, independent of
 * the input order: boot-tested over not, then the later test, then the later record, then the
 * larger JSON text (only so that the choice is total).
 */
function preferred(a: ImageRecord, b: ImageRecord): ImageRecord {
  const rank = (r: ImageRecord) => [isBootTested(r) ? "1" : "0", r.test?.at ?? "", r.createdAt, JSON.stringify(r)];
  const [ra, rb] = [rank(a), rank(b)];
  for (let i = 0; i < ra.length; i++) {
    if (ra[i] !== rb[i]) return (ra[i] ?? "") > (rb[i] ?? "") ? a : b;
  }
  return a;
}

/** The merged document and every conflict; the order of `inputs` does not change the result. */
export function mergeImagesFiles(inputs: readonly MergeInput[]): { doc: ImagesFile; conflicts: MergeConflict[] } {
  const chosen = new Map<string, { record: ImageRecord; file: string }>();
  const conflicts: MergeConflict[] = [];
  for (const input of inputs) {
    for (const record of input.doc.images) {
      const key = `${record.name}\0${record.target}`;
      const seen = chosen.get(key);
      if (!seen) {
        chosen.set(key, { record, file: input.file });
        continue;
      }
      const [a, b] = [artifactOf(seen.record), artifactOf(record)];
      if (a !== b) {
        conflicts.push({ name: record.name, target: record.target, files: [seen.file, input.file], artifacts: [a, b] });
        continue;
      }
      const winner = preferred(seen.record, record);
      if (winner !== seen.record) chosen.set(key, { record, file: input.file });
    }
  }
  let doc: ImagesFile = { version: IMAGES_FILE_VERSION, images: [] };
  for (const { record } of chosen.values()) doc = mergeImage(doc, record);
  return { doc, conflicts };
}

export interface MergeResult {
  imagesFile: string;
  derived: DerivedFiles;
  /** The files merged, DIR/images.json first when it existed. */
  inputs: string[];
  images: number;
  doc: ImagesFile;
  /** The tfvars were regenerated as with --allow-untested (asked for, or the inputs' tfvars were). */
  allowUntested: boolean;
}

/**
 * Merges `files` (and `<dir>/images.json` when it exists) into `<dir>/images.json`, then
 * regenerates the derived files, under the publish lock. Every input is read and checked, and
 * every conflict found, before anything is written.
 */
export async function mergeIntoDir(dir: string, files: readonly string[], options: PublishOptions = {}): Promise<MergeResult> {
  const imagesFile = path.join(dir, IMAGES_FILE);
  await mkdir(dir, { recursive: true });
  return withFileLock(`${imagesFile}.lock`, async () => {
    const inputs: MergeInput[] = [];
    const existing = await readImagesStrict(imagesFile, { missingOk: true });
    if (existing.images.length > 0) inputs.push({ file: imagesFile, doc: existing });
    const seen = new Set(inputs.map((i) => path.resolve(i.file)));
    for (const file of files) {
      // DIR/images.json named as an input too is read once.
      if (seen.has(path.resolve(file))) continue;
      seen.add(path.resolve(file));
      inputs.push({ file, doc: await readImagesStrict(file) });
    }
    const { doc, conflicts } = mergeImagesFiles(inputs);
    if (conflicts.length > 0) {
      const lines = conflicts.map((c) => `${c.name} (${c.target}): ${c.files[0]} has ${c.artifacts[0]}, ${c.files[1]} has ${c.artifacts[1]}`);
      throw new WorkError("EMERGECONFLICT", `the same image with different artifacts; nothing written:\n  ${lines.join("\n  ")}`, { conflicts });
    }
    // The jobs' own tfvars (beside each input) say whether they were written with
    // --allow-untested; the merged ones are regenerated the same way, so no pointer is lost.
    const siblingAmis = new Set<string>();
    for (const input of [imagesFile, ...files]) for (const ami of await readTfvarsAmis(path.join(path.dirname(input), TFVARS_FILE))) siblingAmis.add(ami);
    const publish: PublishOptions = { ...options, allowUntested: options.allowUntested === true || pointsAtUntested(siblingAmis, doc) };
    // Derived files are computed first so that a record they cannot be made from stops the
    // merge before images.json changes.
    deriveFiles(dir, doc, publish);
    await writeFileAtomic(imagesFile, `${JSON.stringify(doc, null, 2)}\n`);
    const derived = await writeDerivedFiles(dir, doc, publish);
    return { imagesFile, derived, inputs: inputs.map((i) => i.file), images: doc.images.length, doc, allowUntested: publish.allowUntested === true };
  });
}
