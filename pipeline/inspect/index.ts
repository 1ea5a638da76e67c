// Public API of offline image inspection.
export { INSPECT_WORK_PREFIX, mountImage, type MountedImage, type MountOptions } from "./mount.js";
export { defaultGrubEntry, directBootCmdline, extractBootFiles, readBootRecord, type BootFile, type BootRecord, type ExtractedBoot, type GrubEntry, type ReadBootOptions } from "./boot-record.js";
export { hygieneFindings, inspectRoot, parseDpkgStatus, type FileCheck, type InspectReport, type InstalledManifest, type UnitCheck } from "./read-root.js";
import { AggregateWorkError } from "../errors/index.js";
import { inspectRoot, type InspectReport } from "./read-root.js";
import { mountImage, type MountOptions } from "./mount.js";

/** Mounts `image` read-only, reads it, unmounts; a failed unmount is an error, never ignored. */
export async function inspectImage(image: string, options: MountOptions): Promise<InspectReport> {
  const mounted = await mountImage(image, options);
  let report: InspectReport;
  try {
    report = await inspectRoot(mounted.root, image, options.signal);
  } catch (error) {
    const released = await mounted.close().then(() => undefined, (e: unknown) => e);
    if (released instanceof Error && error instanceof Error) throw new AggregateWorkError(`${error.message}; and releasing the image failed`, [error, released]);
    throw error;
  }
  await mounted.close();
  return report;
}
