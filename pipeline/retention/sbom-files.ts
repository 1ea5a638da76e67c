// The SBOMs a bake writes per image (pipeline/sbom): <name>.spdx.json and <name>.cdx.json beside
// the qcow2 (qemu) or in the --out dir (aws). Only files with exactly those names are taken, so a
// record edited to point elsewhere cannot delete a stranger file.
import path from "node:path";
import type { ImageRecord } from "../publish/index.js";

export function sbomCandidates(record: ImageRecord, outDir: string): string[] {
  const names = [`${record.name}.spdx.json`, `${record.name}.cdx.json`];
  const dirs = new Set([path.resolve(outDir)]);
  if (record.qemu?.path) dirs.add(path.resolve(path.dirname(record.qemu.path)));
  for (const file of [record.sbom?.spdx, record.sbom?.cyclonedx]) {
    if (file && names.includes(path.basename(file))) dirs.add(path.resolve(path.dirname(file)));
  }
  return [...dirs].flatMap((dir) => names.map((name) => path.join(dir, name)));
}
