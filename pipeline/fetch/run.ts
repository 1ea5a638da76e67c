// fetchArtifacts: plan (dedupe by digest, refuse unpinned), then fetch every job with bounded
// concurrency. Every failure of the run is reported (one line each), not just the first.
import { setMaxListeners } from "node:events";
import pLimit from "p-limit";
import { sweepStaleTemps } from "../cache/index.js";
import { WorkError } from "../errors/index.js";
import { downloadContext, fetchJob } from "./download.js";
import { valuesOrThrow } from "./failures.js";
import { jobLabel, planFetch } from "./plan.js";
import { DEFAULT_CONCURRENCY, type FetchedArtifact, type FetchOptions, type FetchSummary } from "./types.js";

function seconds(since: number): number {
  return Math.round((performance.now() - since) / 10) / 100;
}

export async function fetchArtifacts(options: FetchOptions): Promise<FetchSummary> {
  const started = performance.now();
  const jobs = planFetch(options.manifests, { includeBaseImage: options.includeBaseImage });
  const context = downloadContext(options);
  const emit = options.onEvent ?? (() => undefined);
  // got adds an abort listener per request; many parallel jobs share this one signal
  if (options.signal) setMaxListeners(Math.max(64, jobs.length * 4), options.signal);
  await sweepStaleTemps(options.cacheDir);
  const limit = pLimit(options.concurrency ?? DEFAULT_CONCURRENCY);
  let bytesDownloaded = 0;
  const settled = await Promise.allSettled(
    jobs.map((job) =>
      limit(async (): Promise<FetchedArtifact> => {
        const jobStarted = performance.now();
        emit({ type: "start", job });
        try {
          const result = await fetchJob(job, jobLabel(job), context);
          bytesDownloaded += result.bytesDownloaded;
          const artifact: FetchedArtifact = {
            name: job.name,
            version: job.version,
            kinds: job.kinds,
            arches: job.arches,
            url: job.url,
            digest: job.digest,
            integrity: job.integrity,
            size: job.size,
            path: result.path,
            cacheHit: result.cacheHit,
            seconds: seconds(jobStarted),
          };
          emit({ type: "done", job, artifact });
          return artifact;
        } catch (error) {
          emit({ type: "failed", job, error });
          throw error;
        }
      }),
    ),
  );
  if (options.signal?.aborted) {
    const errors = settled.flatMap((result) => (result.status === "rejected" ? [result.reason as Error] : []));
    throw errors.find((error) => error instanceof WorkError && error.code === "EABORTED") ?? new WorkError("EABORTED", "fetch interrupted; nothing partial was kept");
  }
  const artifacts = valuesOrThrow(settled, (failed) => `${failed} of ${jobs.length} artifacts failed`);
  return { artifacts, bytesDownloaded, seconds: seconds(started) };
}
