// Public API of offline image inspection.
export { mountImage, type MountedImage } from "./mount.js";
export { hygieneFindings, inspectRoot, parseDpkgStatus, type FileCheck, type InspectReport, type InstalledManifest, type UnitCheck } from "./read-root.js";
import { inspectRoot, type InspectReport } from "./read-root.js";
import { mountImage } from "./mount.js";

/** Mounts `image` read-only, reads it, unmounts. */
export async function inspectImage(image: string): Promise<InspectReport> {
  const mounted = await mountImage(image);
  try {
    return await inspectRoot(mounted.root, image);
  } finally {
    await mounted.close();
  }
}
