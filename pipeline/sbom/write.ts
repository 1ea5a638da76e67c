// Writes the SBOMs of one baked image, named after it: <name>.spdx.json and <name>.cdx.json.
// The package list is what the image really holds: for qemu the qcow2's dpkg database, read
// offline (mounted read-only as `inspect` does); for aws (no local disk) the dpkg status file the
// Packer template downloads from the build instance right after install.sh (AWS_DPKG_STATUS_FILE).
import { readFile } from "node:fs/promises";
import path from "node:path";
import { WorkError } from "../errors/index.js";
import { withMounted, type MountedImage } from "../inspect/index.js";
import type { Manifest } from "../manifest/load.js";
import { writeFileAtomic } from "../publish/atomic-write.js";
import { PROJECT_ROOT } from "../cli/options.js";
import { renderCycloneDx } from "./cyclonedx.js";
import { parseDpkgPackages, type DpkgPackage } from "./dpkg.js";
import { buildInventory } from "./inventory.js";
import { renderSpdx } from "./spdx.js";

/** The file (in the Packer work directory) the aws build downloads /var/lib/dpkg/status into; packer/podplane.pkr.hcl.hbs names it too. */
export const AWS_DPKG_STATUS_FILE = "dpkg-status";
const DPKG_STATUS = "var/lib/dpkg/status";

/** Paths of the two documents, as images.json's `sbom` field keeps them. */
export interface SbomFiles {
  spdx: string;
  cyclonedx: string;
}

export interface ImageSbomOptions {
  name: string;
  target: "qemu" | "aws";
  manifest: Manifest;
  vmconfigDigest: string;
  base: { source: string; digest: string };
  /** The directory the two files go to (beside the qcow2; <out>/images/ for aws too). */
  dir: string;
  /** qemu: the baked qcow2, read offline (its packages, when the caller has read them already). */
  qcow2?: { path: string; digest: string; packages?: DpkgPackage[] };
  /** aws: the dpkg status file downloaded from the build instance, and the AMIs made. */
  dpkgStatusFile?: string;
  amis?: Record<string, string>;
  /** Parent of the mount's work directory (the cache's tmp/). */
  workParent: string;
  signal?: AbortSignal | undefined;
  /** Default: $SOURCE_DATE_EPOCH, else now. */
  created?: Date;
}

export function sbomPaths(dir: string, name: string): SbomFiles {
  return { spdx: path.join(dir, `${name}.spdx.json`), cyclonedx: path.join(dir, `${name}.cdx.json`) };
}

/** The dpkg database of a qcow2, without booting it. */
export async function readImagePackages(qcow2: string, options: { workParent: string; signal?: AbortSignal | undefined }): Promise<DpkgPackage[]> {
  return withMounted(qcow2, options, (mounted) => imagePackagesOf(mounted, qcow2));
}

/** readImagePackages' reading, on an image already mounted (the bake reads its boot record from the same mount). */
export async function imagePackagesOf(mounted: Pick<MountedImage, "root">, qcow2: string): Promise<DpkgPackage[]> {
  const text = await readFile(path.join(mounted.root, DPKG_STATUS), "utf8").catch((error: unknown) => {
    throw new WorkError("ESBOMDPKG", `${qcow2}: cannot read /${DPKG_STATUS} (${(error as NodeJS.ErrnoException).code ?? String(error)}); is this a Debian image?`, { image: qcow2 }, { cause: error });
  });
  return parseDpkgPackages(text, `${path.basename(qcow2)}:/${DPKG_STATUS}`);
}

function createdAt(options: ImageSbomOptions): Date {
  if (options.created) return options.created;
  const epoch = process.env.SOURCE_DATE_EPOCH;
  if (epoch !== undefined && epoch !== "") {
    if (!/^\d+$/.test(epoch)) throw new WorkError("ESBOMINPUT", `SOURCE_DATE_EPOCH: expected seconds since 1970 (digits), found ${JSON.stringify(epoch)}`, { epoch });
    return new Date(Number(epoch) * 1000);
  }
  return new Date();
}

async function toolVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(path.join(PROJECT_ROOT, "package.json"), "utf8")) as { version?: string };
  return pkg.version ?? "0.0.0";
}

/** Serialised with a trailing newline; key order is fixed by the renderers, lists are sorted there. */
function json(doc: unknown): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

export async function writeImageSbom(options: ImageSbomOptions): Promise<SbomFiles> {
  let packages: DpkgPackage[];
  let dpkgSource: string;
  if (options.qcow2) {
    packages = options.qcow2.packages ?? (await readImagePackages(options.qcow2.path, options));
    dpkgSource = `/${DPKG_STATUS} of ${path.basename(options.qcow2.path)}, read offline`;
  } else if (options.dpkgStatusFile) {
    const file = options.dpkgStatusFile;
    const text = await readFile(file, "utf8").catch((error: unknown) => {
      throw new WorkError("ESBOMDPKG", `${file}: cannot read the dpkg status the build downloaded (${(error as NodeJS.ErrnoException).code ?? String(error)})`, { file }, { cause: error });
    });
    packages = parseDpkgPackages(text, file);
    dpkgSource = `/${DPKG_STATUS} of the build instance, downloaded after install.sh`;
  } else {
    throw new WorkError("ESBOMINPUT", `${options.name}: no qcow2 and no dpkg status file to read the packages from`, { name: options.name });
  }
  const inventory = buildInventory({
    image: {
      name: options.name,
      kind: options.manifest.kind,
      arch: options.manifest.arch,
      os: options.manifest.os,
      target: options.target,
      ...(options.qcow2 ? { digest: options.qcow2.digest } : {}),
      ...(options.amis ? { amis: options.amis } : {}),
    },
    manifest: options.manifest,
    packages,
    vmconfigDigest: options.vmconfigDigest,
    base: options.base,
    created: createdAt(options),
    tool: { name: "podplane-images", version: await toolVersion() },
    dpkgSource,
  });
  const files = sbomPaths(path.resolve(options.dir), options.name);
  await writeFileAtomic(files.spdx, json(renderSpdx(inventory)));
  await writeFileAtomic(files.cyclonedx, json(renderCycloneDx(inventory)));
  return files;
}
