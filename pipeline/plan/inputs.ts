// The inputs every entry of a plan shares, read without writing anything: the digest of the
// vmconfig archive (packed in memory) and of the Packer template and scripts.
import { createHash } from "node:crypto";
import { templateDigest } from "../packer/template-digest.js";
import { buildVmconfigArchive } from "../vmconfig/pack.js";

export interface SharedInputs {
  /** `sha256:<hex>` of the vmconfig.tar.gz a bake stages (the archive is byte-reproducible). */
  vmconfigDigest: string;
  /** `sha256:<hex>` over the Packer template and provisioner scripts. */
  templateDigest: string;
}

export async function sharedInputs(): Promise<SharedInputs> {
  const [archive, template] = await Promise.all([buildVmconfigArchive(), templateDigest()]);
  return { vmconfigDigest: `sha256:${createHash("sha256").update(archive).digest("hex")}`, templateDigest: template };
}
