// The one rule for what is worth retrying: timeouts, dropped connections and server errors
// (5xx, 429). A 404/403, a digest or size mismatch, or an abort is final.
import { setTimeout as sleep } from "node:timers/promises";

const RETRIABLE_CODES = new Set([
  "ETIMEDOUT",
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "ERR_STREAM_PREMATURE_CLOSE",
  "ERR_READING_RESPONSE_STREAM",
]);

export function httpStatusOf(error: unknown): number | undefined {
  const status = (error as { response?: { statusCode?: unknown } } | undefined)?.response?.statusCode;
  return typeof status === "number" ? status : undefined;
}

export function isRetriable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const status = httpStatusOf(error);
  if (status !== undefined && (error as { code?: string }).code === "ERR_NON_2XX_3XX_RESPONSE") {
    return status >= 500 || status === 429;
  }
  const code = (error as { code?: string }).code;
  return code !== undefined && RETRIABLE_CODES.has(code);
}

export interface RetryPolicy {
  /** Retries after the first attempt. */
  retries: number;
  /** First delay; doubles per retry (with up to 25% jitter). */
  baseDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 3, baseDelayMs: 500 };

export function retryDelay(policy: RetryPolicy, retry: number): number {
  const base = policy.baseDelayMs * 2 ** retry;
  return Math.round(base + Math.random() * base * 0.25);
}

/** Runs `attempt` until it succeeds, fails with a final error, or runs out of retries. */
export async function withRetries<T>(
  attempt: (n: number) => Promise<T>,
  policy: RetryPolicy,
  options: { signal?: AbortSignal | undefined; onRetry?: (error: unknown, retry: number) => void } = {},
): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (error) {
      if (n >= policy.retries || !isRetriable(error) || options.signal?.aborted) throw error;
      options.onRetry?.(error, n + 1);
      await sleep(retryDelay(policy, n), undefined, { signal: options.signal });
    }
  }
}
