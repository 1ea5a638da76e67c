// verify: re-hash every cached artifact and container image the manifests name, without
// changing the cache. Each is ok, corrupt (bad bytes under its digest) or missing (never fetched).
import pLimit from "p-limit";
import { checkEntry, hashThreads } from "../cache/index.js";
import { WorkError } from "../errors/index.js";
import { imageLabel, listImageContent, planImages, type ImageJob } from "../oci/index.js";
import { integrityToDigest } from "../manifest/digest.js";
import type { Manifest } from "../manifest/load.js";
import { jobLabel, planFetch, type FetchJob } from "../fetch/plan.js";

export interface VerifiedArtifact {
  name: string;
  version: string;
  kinds: FetchJob["kinds"];
  arches: FetchJob["arches"];
  digest: string;
  size: number;
  path: string;
  status: "ok" | "corrupt" | "missing";
  /** For a corrupt entry: what was found instead. */
  problem?: string;
  found?: string;
}

export interface VerifiedImage {
  image: string;
  platform: string;
  kinds: ImageJob["kinds"];
  arches: ImageJob["arches"];
  index: string;
  digest: string;
  size: number;
  status: "ok" | "corrupt" | "missing";
  /** For a missing or corrupt image: which of its files, and what was wrong. */
  problem?: string;
}

type Counts = { ok: number; corrupt: number; missing: number };

export interface VerifyReport {
  ok: boolean;
  artifacts: VerifiedArtifact[];
  counts: Counts;
  /** Container images (vmconfig.images); empty when images were not asked for. */
  images: VerifiedImage[];
  imageCounts: Counts;
}

function countStatuses(items: readonly { status: VerifiedArtifact["status"] }[]): Counts {
  const count = (status: VerifiedArtifact["status"]) => items.filter((a) => a.status === status).length;
  return { ok: count("ok"), corrupt: count("corrupt"), missing: count("missing") };
}

/**
 * One pinned image: index, platform manifest, config and layers each re-hashed (listImageContent),
 * and the pinned size (manifest + config + layers) must still add up, as fetch demanded.
 */
async function verifyImage(cacheDir: string, job: ImageJob): Promise<VerifiedImage> {
  const base = { image: job.image, platform: job.platform, kinds: job.kinds, arches: job.arches, index: job.index, digest: job.digest, size: job.size };
  try {
    const content = await listImageContent(cacheDir, job);
    const total = content.manifest.size + content.config.size + content.layers.reduce((sum, layer) => sum + layer.size, 0);
    if (total !== job.size) {
      return { ...base, status: "corrupt", problem: `${imageLabel(job)}: its manifest, config and layers add up to ${total} bytes, pinned ${job.size}` };
    }
    return { ...base, status: "ok" };
  } catch (error) {
    if (!(error instanceof WorkError) || (error.code !== "ENOTCACHED" && error.code !== "EINTEGRITY")) throw error;
    return { ...base, status: error.code === "ENOTCACHED" ? "missing" : "corrupt", problem: error.message };
  }
}

export async function verifyCache(options: {
  manifests: readonly Manifest[];
  cacheDir: string;
  includeBaseImage?: boolean | undefined;
  /** Also re-check the manifests' container images (default true). */
  images?: boolean | undefined;
  concurrency?: number | undefined;
  signal?: AbortSignal | undefined;
}): Promise<VerifyReport> {
  const jobs = planFetch(options.manifests, { includeBaseImage: options.includeBaseImage, unpinned: "skip" });
  const limit = pLimit(options.concurrency ?? hashThreads());
  const artifacts = await Promise.all(
    jobs.map((job) =>
      limit(async (): Promise<VerifiedArtifact> => {
        const check = await checkEntry(options.cacheDir, job.integrity, job.size, options.signal);
        const base = { name: job.name, version: job.version, kinds: job.kinds, arches: job.arches, digest: job.digest, size: job.size, path: check.path };
        if (check.status !== "corrupt") return { ...base, status: check.status };
        return { ...base, status: "corrupt", problem: `${jobLabel(job)}: cache entry ${check.path} holds ${check.reason}`, found: integrityToDigest(check.found) };
      }),
    ),
  );
  const imageJobs = options.images === false ? [] : planImages(options.manifests);
  const images = await Promise.all(imageJobs.map((job) => limit(() => verifyImage(options.cacheDir, job))));
  const counts = countStatuses(artifacts);
  const imageCounts = countStatuses(images);
  return { ok: counts.corrupt === 0 && imageCounts.corrupt === 0, artifacts, counts, images, imageCounts };
}
