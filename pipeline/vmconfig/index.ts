// Public API of vmconfig packing. PLACEHOLDER signature, fixed so the bake can be written against it.
import { WorkError } from "../errors/index.js";

export interface PackedVmconfig {
  path: string;
  /** `sha256:<hex>` of the archive */
  digest: string;
  size: number;
}

/** Packs scripts/vmconfig (or `sourceDir`) into a byte-reproducible vmconfig.tar.gz at `outFile`. */
export function packVmconfig(_options: { outFile: string; sourceDir?: string }): Promise<PackedVmconfig> {
  return Promise.reject(new WorkError("ENOTIMPLEMENTED", "vmconfig pack is not built yet"));
}
