// Public API of the fetch stage; other stages import only from here.
export { fetchArtifacts } from "./run.js";
export type { FetchOptions, FetchedArtifact, FetchedImageSummary, FetchSummary, FetchEvent } from "./types.js";
export { planImageJobs, imageFetchJob } from "./images.js";
export { DEFAULT_CONCURRENCY, DEFAULT_TIMEOUT_MS } from "./types.js";
export { planFetch, jobLabel, type FetchJob, type PlanOptions } from "./plan.js";
export { resolveSource, mirrorRelativePath, describeSource, type ArtifactSource } from "./mirror.js";
export { isRetriable, withRetries, DEFAULT_RETRY, type RetryPolicy } from "./retry.js";
export { downloadToCache, downloadContext, type DownloadContext } from "./download.js";
export { throwAll, valuesOrThrow } from "./failures.js";
export { fetchText } from "./text.js";
export { redactDeep, redactUrls } from "./redact.js";
