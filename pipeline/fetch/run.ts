// fetchArtifacts: plan (dedupe by digest, refuse unpinned), then fetch every job with bounded
// concurrency. Every failure of the run is reported (one line each), not just the first.
import { setMaxListeners } from "node:events";
import pLimit from "p-limit";
import { sweepStaleTemps } from "../cache/index.js";
import { WorkError } from "../errors/index.js";
import { downloadContext, fetchJob } from "./download.js";
import { valuesOrThrow } from "./failures.js";
import { planImageJobs } from "./images.js";
import { jobLabel, planFetch, type FetchJob } from "./plan.js";
import { DEFAULT_CONCURRENCY, type FetchedArtifact, type FetchedImageSummary, type FetchEvent, type FetchOptions, type FetchSummary } from "./types.js";
import { fetchImage, imageFetchContext, type ImageJob } from "../oci/index.js";
import type { DownloadContext } from "./download.js";

function seconds(since: number): number {
  return Math.round((performance.now() - since) / 10) / 100;
}

export async function fetchArtifacts(options: FetchOptions): Promise<FetchSummary> {
  const started = performance.now();
  const jobs = planFetch(options.manifests, { includeBaseImage: options.includeBaseImage });
  const imageJobs = options.images ? planImageJobs(options.manifests) : [];
  const context = downloadContext(options);
  const emit = options.onEvent ?? (() => undefined);
  // got adds an abort listener per request; many parallel jobs share this one signal
  if (options.signal) setMaxListeners(Math.max(64, (jobs.length + imageJobs.length * 8) * 4), options.signal);
  await sweepStaleTemps(options.cacheDir);
  const limit = pLimit(options.concurrency ?? DEFAULT_CONCURRENCY);
  let bytesDownloaded = 0;
  const imagesRun = runImages(imageJobs, context, limit, emit, (bytes) => (bytesDownloaded += bytes));
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
  const imageSettled = await imagesRun;
  if (options.signal?.aborted) {
    const errors = [...settled, ...imageSettled].flatMap((result) => (result.status === "rejected" ? [result.reason as Error] : []));
    throw errors.find((error) => error instanceof WorkError && error.code === "EABORTED") ?? new WorkError("EABORTED", "fetch interrupted; nothing partial was kept");
  }
  const all = valuesOrThrow<FetchedArtifact | FetchedImageSummary>([...settled, ...imageSettled], (failed) => `${failed} of ${jobs.length + imageJobs.length} ${imageJobs.length > 0 ? "artifacts and images" : "artifacts"} failed`);
  const artifacts = all.slice(0, settled.length) as FetchedArtifact[];
  const summary: FetchSummary = { artifacts, bytesDownloaded, seconds: seconds(started) };
  if (options.images) summary.images = all.slice(settled.length) as FetchedImageSummary[];
  return summary;
}

/** Every image of the run under the same concurrency limit, reported with the same events as an artifact. */
function runImages(
  imageJobs: readonly { image: ImageJob; job: FetchJob }[],
  context: DownloadContext,
  limit: ReturnType<typeof pLimit>,
  emit: (event: FetchEvent) => void,
  count: (bytes: number) => void,
): Promise<PromiseSettledResult<FetchedImageSummary>[]> {
  const shared = imageFetchContext(context); // an index or blob shared by two images is fetched once
  return Promise.allSettled(
    imageJobs.map(({ image, job }) =>
      limit(async (): Promise<FetchedImageSummary> => {
        const jobStarted = performance.now();
        emit({ type: "start", job });
        let received = 0;
        try {
          const fetched = await fetchImage(image, shared, (delta) => {
            received += delta;
            emit({ type: "bytes", job, received, delta });
          });
          count(fetched.bytesDownloaded);
          const took = seconds(jobStarted);
          const artifact: FetchedArtifact = { name: job.name, version: job.version, kinds: job.kinds, arches: job.arches, url: job.url, digest: job.digest, integrity: job.integrity, size: job.size, path: fetched.path, cacheHit: fetched.cacheHit, seconds: took };
          emit({ type: "done", job, artifact });
          return { image: image.image, platform: image.platform, kinds: image.kinds, arches: image.arches, index: image.index, digest: image.digest, size: image.size, path: fetched.path, blobs: fetched.blobs, cacheHit: fetched.cacheHit, bytesDownloaded: fetched.bytesDownloaded, seconds: took };
        } catch (error) {
          emit({ type: "failed", job, error });
          throw error;
        }
      }),
    ),
  );
}
