// Which images a fetch brings in: every vmconfig.images entry of the selected manifests, once
// per platform manifest digest (the same pause image serves knd and knc), with the kinds and
// arches that need it. The index and the blobs are deduplicated again by digest while fetching.
import type { Arch, Kind } from "../manifest/schema.js";
import type { Manifest } from "../manifest/load.js";
import { parseImageReference } from "./reference.js";
import { addUser, sortUsers } from "../manifest/users.js";

export interface ImageJob {
  /** As in the manifest: `registry.k8s.io/pause:3.10.2` */
  image: string;
  registry: string;
  repository: string;
  tag: string;
  /** `linux/amd64` */
  platform: string;
  /** Index digest (`sha256:<hex>`). */
  index: string;
  /** Platform manifest digest. */
  digest: string;
  /** Pinned: the platform manifest's bytes plus its config and layer blobs. */
  size: number;
  kinds: Kind[];
  arches: Arch[];
}

export function planImages(manifests: readonly Manifest[]): ImageJob[] {
  const jobs = new Map<string, ImageJob>();
  for (const manifest of manifests) {
    for (const entry of manifest.images) {
      const ref = parseImageReference(entry.image);
      const key = `${ref.registry}/${ref.repository}@${entry.digest}`;
      const job = jobs.get(key) ?? {
        image: entry.image,
        registry: ref.registry,
        repository: ref.repository,
        tag: ref.tag,
        platform: entry.platform,
        index: entry.index,
        digest: entry.digest,
        size: entry.size,
        kinds: [],
        arches: [],
      };
      addUser(job, manifest);
      jobs.set(key, job);
    }
  }
  for (const job of jobs.values()) sortUsers(job);
  return [...jobs.values()].sort((a, b) => a.image.localeCompare(b.image) || a.platform.localeCompare(b.platform));
}

/** `registry.k8s.io/pause:3.10.2 linux/amd64`: how an image is named in progress and errors. */
export function imageLabel(job: Pick<ImageJob, "image" | "platform">): string {
  return `${job.image} ${job.platform}`;
}
