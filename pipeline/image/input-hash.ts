// The input hash: a digest over everything that determines an image. Same inputs, same hash,
// same image name; any one input changed, a different hash.
import { createHash } from "node:crypto";
import type { Manifest } from "../manifest/load.js";

/**
 * Bump when the pipeline changes what it puts into an image in a way no other input shows.
 * 2: the manifest's container images joined the hashed document.
 * 3: the build VM runs only the cloud-init modules the bake needs (pipeline/packer/seed.ts), so
 *    no per-instance config/final module (locale, apt, GRUB debconf) ran before the image is taken.
 * 4: the build VM bakes by itself (packer/scripts/build-vm.sh run by the boot's init): no systemd, cloud-init,
 *    sshd or build user ran in it at all, and the stage's digests are checked on the host.
 */
export const IMAGE_FORMAT_VERSION = 4;
export const SHORT_HASH_LENGTH = 12;

export interface ImageInputs {
  manifest: Pick<Manifest, "kind" | "os" | "arch" | "version" | "dependencies" | "images">;
  /** `sha256:<hex>` of vmconfig.tar.gz */
  vmconfigDigest: string;
  /** `sha256:<hex>` over the Packer template and provisioner scripts */
  templateDigest: string;
  /** Digest of the base the image starts from (qcow2 digest, or the AMI filter for aws). */
  baseImage: string;
  target: string;
  formatVersion?: number;
}

/** The exact document that is hashed (kept so a record can show what went in). */
export function inputDocument(inputs: ImageInputs): Record<string, unknown> {
  const m = inputs.manifest;
  return {
    formatVersion: inputs.formatVersion ?? IMAGE_FORMAT_VERSION,
    kind: m.kind,
    os: m.os,
    arch: m.arch,
    target: inputs.target,
    vmconfigVersion: m.version,
    dependencies: m.dependencies
      .filter((d) => !d.local)
      .map((d) => ({ name: d.name, version: d.version, url: d.url, type: d.type, digest: d.digest, size: d.size }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    // Baked into the image (the pause image, ...): re-pinning one must give a new name.
    images: m.images
      .map((i) => ({ image: i.image, platform: i.platform, index: i.index, digest: i.digest, size: i.size }))
      .sort((a, b) => {
        const ka = `${a.image}\0${a.platform}`;
        const kb = `${b.image}\0${b.platform}`;
        return ka < kb ? -1 : ka > kb ? 1 : 0;
      }),
    vmconfig: inputs.vmconfigDigest,
    template: inputs.templateDigest,
    baseImage: inputs.baseImage,
  };
}

export function computeInputHash(inputs: ImageInputs): string {
  return createHash("sha256").update(JSON.stringify(inputDocument(inputs))).digest("hex");
}

export function imageName(m: { kind: string; os: string; arch: string }, inputHash: string): string {
  return `podplane-${m.kind}-${m.os}-${m.arch}-${inputHash.slice(0, SHORT_HASH_LENGTH)}`;
}
