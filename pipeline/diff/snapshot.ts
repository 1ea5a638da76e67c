// One side of a release diff for one kind × os × arch: what a lock manifest pins, or what an
// images.json record says its image was baked from. Both shapes become the same snapshot so one
// comparison serves `diff DIR DIR`, `diff REF REF` and `diff --images A B`.
import type { Manifest } from "../manifest/load.js";
import type { ContainerImage } from "../manifest/schema.js";
import type { ImageRecord } from "../publish/images-json.js";

export interface Component {
  name: string;
  version: string;
  /** `sha256:<hex>`; "" when not pinned (kube2iam before `pin`). */
  digest: string;
}

/** A container image as compared: its repository is the identity, the tag its version. */
export interface ContainerImageRef {
  /** `registry/repository` (the tag cut off). */
  name: string;
  /** The tag. */
  version: string;
  /** The platform manifest digest: what the image really runs. */
  digest: string;
}

export interface BaseImageRef {
  /** The Debian cloud image version (manifests); absent for records, which keep only the source. */
  version?: string;
  /** Where it comes from: the manifest's os.image.url, or the record's baseImage.source. */
  source: string;
  digest: string;
}

export interface VmconfigRef {
  /** vmconfig.version of a manifest; absent for records. */
  version?: string;
  /** The packed vmconfig's digest (records; "" in manifests, where it is built here). */
  digest: string;
}

export interface Snapshot {
  kind: string;
  os: string;
  arch: string;
  /** qemu or aws, for images; absent for manifests. */
  target?: string;
  /** Where this side was read: a manifest file (or REF:path), or an image name. */
  source: string;
  /** Sorted by name. */
  components: Component[];
  /** Sorted by name; null when the side does not record them (an aws record). */
  containerImages: ContainerImageRef[] | null;
  baseImage: BaseImageRef;
  vmconfig: VmconfigRef;
}

function byName<T extends { name: string }>(items: T[]): T[] {
  return items.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** `registry.k8s.io/pause:3.10.2` → name `registry.k8s.io/pause`, version `3.10.2`. */
export function containerImageRef(image: Pick<ContainerImage, "image" | "digest">): ContainerImageRef {
  const colon = image.image.lastIndexOf(":");
  const slash = image.image.lastIndexOf("/");
  // A colon before the last slash is a registry port, not a tag.
  if (colon <= slash) return { name: image.image, version: "", digest: image.digest };
  return { name: image.image.slice(0, colon), version: image.image.slice(colon + 1), digest: image.digest };
}

export function containerImageRefs(images: readonly Pick<ContainerImage, "image" | "digest">[]): ContainerImageRef[] {
  return byName(images.map(containerImageRef));
}

/** A lock manifest: its fetched dependencies (vmconfig, built here, is its own line), images, base. */
export function manifestSnapshot(manifest: Manifest, source: string = manifest.file): Snapshot {
  const vmconfig = manifest.dependencies.find((d) => d.local);
  return {
    kind: manifest.kind,
    os: manifest.os,
    arch: manifest.arch,
    source,
    components: byName(manifest.dependencies.filter((d) => !d.local).map((d) => ({ name: d.name, version: d.version, digest: d.digest }))),
    containerImages: containerImageRefs(manifest.images),
    baseImage: { version: manifest.baseImage.version, source: manifest.baseImage.url, digest: manifest.baseImage.digest },
    vmconfig: { version: manifest.version, digest: vmconfig?.digest ?? "" },
  };
}

/**
 * An images.json record. The record keeps no container images; the caller passes them when it
 * knows them (the Podplane manifest beside a qcow2, or the manifest a build baked from).
 */
export function recordSnapshot(record: ImageRecord, containerImages: ContainerImageRef[] | null): Snapshot {
  return {
    kind: record.kind,
    os: record.os,
    arch: record.arch,
    target: record.target,
    source: record.name,
    components: byName(record.dependencies.map((d) => ({ name: d.name, version: d.version, digest: d.digest }))),
    containerImages: containerImages ? byName([...containerImages]) : null,
    baseImage: { source: record.baseImage.source, digest: record.baseImage.digest },
    vmconfig: { digest: record.vmconfigDigest },
  };
}
