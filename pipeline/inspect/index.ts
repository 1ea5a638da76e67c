// Public API of offline image inspection.
export { INSPECT_WORK_PREFIX, mountImage, withMounted, type MountedImage, type MountOptions } from "./mount.js";
export { bootRecordOf, defaultGrubEntry, directBootCmdline, extractBootFiles, readBootRecord, type BootFile, type BootRecord, type ExtractedBoot, type GrubEntry, type ReadBootOptions } from "./boot-record.js";
export { hygieneFindings, inspectRoot, parseDpkgStatus, type FileCheck, type InspectReport, type InstalledManifest, type UnitCheck } from "./read-root.js";
import { inspectRoot, type InspectReport } from "./read-root.js";
import { withMounted, type MountOptions } from "./mount.js";

/** Mounts `image` read-only, reads it, unmounts; a failed unmount is an error, never ignored. */
export async function inspectImage(image: string, options: MountOptions): Promise<InspectReport> {
  return withMounted(image, options, (mounted) => inspectRoot(mounted.root, image, options.signal));
}
