// Reading an upstream listing (a release list, a stable marker, a Packages index) through the
// same mirror mapping as artifacts (fetch/mirror.ts: `<mirror>/<host>/<path>`, query dropped),
// with the one retry rule. Unlike fetch's checksum-file reader it takes larger bodies (Debian's
// Packages.gz is 13 MB, 56 MB unpacked), unpacks `.gz`, and can send headers (GitHub's API
// wants an Accept header and takes a token against its rate limit).
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { gunzip as gunzipCallback } from "node:zlib";
import { WorkError } from "../errors/index.js";
import { describeSource, redactUrls, resolveSource, withRetries, type RetryPolicy } from "../fetch/index.js";
import type { RegistryMirrors } from "../oci/index.js";

const gunzip = promisify(gunzipCallback);

export interface ReadContext {
  mirror?: string | undefined;
  /** Registry tags lists only: registry → a registry mirror's base URL (pipeline/oci). */
  registryMirrors?: RegistryMirrors | undefined;
  signal?: AbortSignal | undefined;
  retry: RetryPolicy;
  timeoutMs: number;
  /** A GitHub token (env GITHUB_TOKEN): sent to api.github.com itself only, never to a mirror. */
  githubToken?: string | undefined;
}

/** Compressed bytes read at most; more is not a listing. */
const MAX_BYTES = 64 * 1024 * 1024;
/** Unpacked bytes at most (a Packages index of a full Debian suite is ~60 MB). */
const MAX_UNPACKED = 256 * 1024 * 1024;

function statusError(status: number, where: string, label: string): Error {
  if (status === 404 || status === 410) return new WorkError("ENOTFOUND", `${label}: not found (HTTP ${status}): ${where}`, { label, url: where, status });
  if (status < 500 && status !== 429) return new WorkError("EHTTP", `${label}: HTTP ${status} from ${where}`, { label, url: where, status });
  // shaped like got's, so fetch/retry.ts retries it
  return Object.assign(new Error(`${label}: HTTP ${status} from ${where}`), { code: "ERR_NON_2XX_3XX_RESPONSE", response: { statusCode: status } });
}

async function readHttp(url: string, headers: Record<string, string>, label: string, context: ReadContext): Promise<Buffer> {
  const timeout = AbortSignal.timeout(context.timeoutMs);
  const signal = context.signal ? AbortSignal.any([context.signal, timeout]) : timeout;
  let response: Response;
  try {
    response = await fetch(url, { headers: { "user-agent": "podplane-images", ...headers }, signal });
  } catch (error) {
    if (context.signal?.aborted) throw error;
    if (timeout.aborted) throw Object.assign(new Error(`${label}: no response from ${redactUrls(url)} in ${context.timeoutMs} ms`), { code: "ETIMEDOUT" });
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw Object.assign(new Error(`${label}: ${cause?.code ?? "ENETWORK"} fetching ${redactUrls(url)}: ${cause?.message ?? String(error)}`), { code: cause?.code ?? "ENETWORK" });
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw statusError(response.status, redactUrls(url), label);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body ?? []) {
    size += (chunk as Uint8Array).length;
    if (size > MAX_BYTES) throw new WorkError("EBADSIZE", `${label}: ${redactUrls(url)} is larger than ${MAX_BYTES} bytes`, { label, url: redactUrls(url) });
    chunks.push(Buffer.from(chunk as Uint8Array));
  }
  return Buffer.concat(chunks);
}

async function readLocal(file: string, label: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new WorkError("ENOTFOUND", `${label}: not found (no such file in the mirror): ${file}`, { label, url: file });
    throw error;
  }
}

/**
 * The text at `url` (unpacked when it ends in .gz), from upstream or the mirror's copy, and
 * where it was read. Failures are WorkErrors naming the listing and the URL.
 */
export async function readListing(url: string, label: string, context: ReadContext, headers: Record<string, string> = {}): Promise<{ text: string; from: string }> {
  const source = resolveSource(url, context.mirror);
  const from = describeSource(source);
  const sendHeaders = { ...headers };
  if (context.githubToken && !context.mirror && new URL(url).host === "api.github.com") sendHeaders.authorization = `Bearer ${context.githubToken}`;
  const bytes = await withRetries(
    () => (source.kind === "file" ? readLocal(source.path, label) : readHttp(source.url, sendHeaders, label, context)),
    context.retry,
    { signal: context.signal },
  );
  // A server that sends a .gz with Content-Encoding: gzip has had it unpacked by fetch already.
  const gzipped = bytes[0] === 0x1f && bytes[1] === 0x8b;
  if (!new URL(url).pathname.endsWith(".gz") || !gzipped) return { text: bytes.toString("utf8"), from };
  try {
    return { text: (await gunzip(bytes, { maxOutputLength: MAX_UNPACKED })).toString("utf8"), from };
  } catch (error) {
    throw new WorkError("EFORMAT", `${label}: ${from} is not a readable gzip file: ${(error as Error).message}`, { label, url: from }, { cause: error });
  }
}
