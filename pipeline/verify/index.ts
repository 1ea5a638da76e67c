// verify: re-hash every cached artifact the manifests name, without changing the cache.
// Each artifact is ok, corrupt (bad bytes under its digest) or missing (never fetched).
import pLimit from "p-limit";
import { checkEntry, hashThreads } from "../cache/index.js";
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

export interface VerifyReport {
  ok: boolean;
  artifacts: VerifiedArtifact[];
  counts: { ok: number; corrupt: number; missing: number };
}

export async function verifyCache(options: {
  manifests: readonly Manifest[];
  cacheDir: string;
  includeBaseImage?: boolean | undefined;
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
  const count = (status: VerifiedArtifact["status"]) => artifacts.filter((a) => a.status === status).length;
  const counts = { ok: count("ok"), corrupt: count("corrupt"), missing: count("missing") };
  return { ok: counts.corrupt === 0, artifacts, counts };
}
