// Bringing one artifact into the cache: a verified cache hit costs no request; otherwise the
// bytes stream from upstream (or the mirror) through the integrity check into the cache, with
// retries by the one retry rule. A corrupt cache entry is evicted and fetched again, once.
import { WorkError } from "../errors/index.js";
import { readEntry, writeEntry, type WrittenEntry } from "../cache/index.js";
import { describeSource, resolveSource, type ArtifactSource } from "./mirror.js";
import { DEFAULT_RETRY, httpStatusOf, withRetries, type RetryPolicy } from "./retry.js";
import { openSource } from "./source.js";
import type { FetchJob } from "./plan.js";
import { DEFAULT_TIMEOUT_MS, type FetchEvent } from "./types.js";
import type { RegistryMirrors } from "../oci/registry-mirrors.js";

export interface DownloadContext {
  cacheDir: string;
  mirror?: string | undefined;
  /** Container images only: registry → a registry mirror's base URL (ahead of `mirror` for that registry). */
  registryMirrors?: RegistryMirrors | undefined;
  signal?: AbortSignal | undefined;
  retry: RetryPolicy;
  timeoutMs: number;
  onEvent?: ((event: FetchEvent) => void) | undefined;
}

/** The download settings of a run, with the defaults filled in. */
export function downloadContext(options: {
  cacheDir: string;
  mirror?: string | undefined;
  registryMirrors?: RegistryMirrors | undefined;
  signal?: AbortSignal | undefined;
  retry?: RetryPolicy | undefined;
  timeoutMs?: number | undefined;
  onEvent?: ((event: FetchEvent) => void) | undefined;
}): DownloadContext {
  return {
    cacheDir: options.cacheDir,
    mirror: options.mirror,
    registryMirrors: options.registryMirrors,
    signal: options.signal,
    retry: options.retry ?? DEFAULT_RETRY,
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    onEvent: options.onEvent,
  };
}

export interface JobResult {
  path: string;
  cacheHit: boolean;
  bytesDownloaded: number;
}

function aborted(label: string, signal: AbortSignal, cause: unknown): WorkError {
  const reason: unknown = signal.reason;
  const why = reason instanceof Error ? reason.message : typeof reason === "string" ? reason : "aborted";
  return new WorkError("EABORTED", `${label}: fetch interrupted (${why}); nothing partial was kept`, { label }, { cause });
}

/** A final network/HTTP failure after the retries, as one line naming the artifact and URL. */
function finalError(error: unknown, label: string, source: ArtifactSource, attempts: number): unknown {
  if (error instanceof WorkError) return error;
  const where = describeSource(source);
  const status = httpStatusOf(error);
  const tries = attempts > 1 ? ` after ${attempts} attempts` : "";
  if (status !== undefined) return new WorkError("EHTTP", `${label}: HTTP ${status} from ${where}${tries}`, { label, url: where, status }, { cause: error });
  const code = (error as { code?: string }).code ?? "ENETWORK";
  const message = error instanceof Error ? error.message : String(error);
  return new WorkError("ENETWORK", `${label}: ${code} fetching ${where}${tries}: ${message}`, { label, url: where, code }, { cause: error });
}

/** Downloads `url` into the cache, verifying against `integrity` (or computing it with `algorithm`). */
export async function downloadToCache(
  url: string,
  expect: { label: string; integrity?: string | undefined; size?: number | undefined; algorithm?: "sha256" | "sha512" },
  context: DownloadContext,
  onBytes?: (received: number, delta: number) => void,
  onRetry?: (retry: number, error: unknown) => void,
): Promise<WrittenEntry> {
  const source = resolveSource(url, context.mirror);
  let attempts = 0;
  try {
    return await withRetries(
      async () => {
        attempts++;
        const opened = await openSource(source, { label: expect.label, signal: context.signal, timeoutMs: context.timeoutMs });
        if (expect.size !== undefined && opened.length !== undefined && opened.length !== expect.size) {
          opened.stream.destroy();
          throw new WorkError(
            "EBADSIZE",
            `${expect.label}: size mismatch: expected ${expect.size} bytes, ${describeSource(source)} announces ${opened.length}`,
            { label: expect.label, url: describeSource(source), expected: expect.size, found: opened.length },
          );
        }
        let received = 0;
        return await writeEntry(context.cacheDir, opened.stream, {
          integrity: expect.integrity,
          size: expect.size,
          algorithm: expect.algorithm,
          label: expect.label,
          url: describeSource(source),
          signal: context.signal,
          onBytes: (delta) => {
            received += delta;
            onBytes?.(received, delta);
          },
        });
      },
      context.retry,
      { signal: context.signal, onRetry: (error, retry) => onRetry?.(retry, error) },
    );
  } catch (error) {
    if (context.signal?.aborted) throw aborted(expect.label, context.signal, error);
    throw finalError(error, expect.label, source, attempts);
  }
}

/** One job: a verified cache hit, or a download into the cache. */
export async function fetchJob(job: FetchJob, label: string, context: DownloadContext): Promise<JobResult> {
  const emit = context.onEvent ?? (() => undefined);
  context.signal?.throwIfAborted();
  const cached = await readEntry(context.cacheDir, job.integrity, job.size, context.signal);
  if (cached.status === "hit") return { path: cached.path, cacheHit: true, bytesDownloaded: 0 };
  if (cached.status === "evicted") emit({ type: "evicted", job, reason: cached.reason });
  emit({ type: "download", job, source: describeSource(resolveSource(job.url, context.mirror)) });
  let downloaded = 0;
  const entry = await downloadToCache(
    job.url,
    { label, integrity: job.integrity, size: job.size },
    context,
    (received, delta) => {
      downloaded = received;
      emit({ type: "bytes", job, received, delta });
    },
    (retry, error) => emit({ type: "retry", job, retry, error }),
  );
  return { path: entry.path, cacheHit: false, bytesDownloaded: downloaded };
}
