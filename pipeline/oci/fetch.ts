// Fetching one pinned image by digest: index → the platform's manifest → its config and
// layers. Each piece is a cache hit (re-hashed, no request) or streams from the registry (or
// mirror) through the digest check into the cache; a registry never gets to send more than the
// pinned size: the manifest is read up to its index entry's size, each blob up to its
// descriptor's size, and the descriptors must add up to the image's pinned size first.
import { readFile } from "node:fs/promises";
import { pipeline, Transform, type TransformCallback } from "node:stream";
import { readEntry, writeEntry } from "../cache/index.js";
import { WorkError } from "../errors/index.js";
import type { DownloadContext } from "../fetch/download.js";
import { withRetries } from "../fetch/retry.js";
import { digestToIntegrity } from "../manifest/digest.js";
import { findPlatform, imageSize, MANIFEST_ACCEPT, MAX_MANIFEST_BYTES, parseImageDocument, platformOf, type ImageManifest } from "./media.js";
import { imageLabel, type ImageJob } from "./plan.js";
import { registrySource, type ContentKind, type RegistrySource } from "./registry.js";

export interface ImageFetchContext extends DownloadContext {
  /** Content being fetched in this run, by digest: an index or blob shared by two images is fetched once. */
  inflight: Map<string, Promise<ContentResult>>;
}

export function imageFetchContext(context: DownloadContext): ImageFetchContext {
  return { ...context, inflight: new Map() };
}

interface ContentResult {
  path: string;
  cacheHit: boolean;
  downloaded: number;
}

export interface FetchedImage {
  image: string;
  platform: string;
  index: string;
  digest: string;
  size: number;
  /** Every piece was already in the cache: no request was made. */
  cacheHit: boolean;
  bytesDownloaded: number;
  /** Cache path of the platform manifest. */
  path: string;
  /** Digests of the config and layer blobs. */
  blobs: string[];
}

/** Passes at most `limit` bytes; one more and the stream fails, so nothing past the pinned size is read. */
class SizeCap extends Transform {
  private seen = 0;
  constructor(
    private readonly limit: number,
    private readonly label: string,
    private readonly url: string,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.limit) {
      done(
        Object.assign(new WorkError("EBADSIZE", `${this.label}: size mismatch: ${this.url} sends more than the pinned ${this.limit} bytes; stopped reading there`, { label: this.label, url: this.url, expected: this.limit }), {
          expected: this.limit,
          found: `more than ${this.limit}`,
        }),
      );
      return;
    }
    done(null, chunk);
  }
}

function finalError(error: unknown, label: string, url: string): unknown {
  if (error instanceof WorkError) return error;
  const code = (error as { code?: string }).code ?? "ENETWORK";
  const status = (error as { response?: { statusCode?: number } }).response?.statusCode;
  const message = error instanceof Error ? error.message : String(error);
  if (status !== undefined) return new WorkError("EHTTP", message, { label, url, status }, { cause: error });
  return new WorkError("ENETWORK", message.includes(label) ? message : `${label}: ${code} fetching ${url}: ${message}`, { label, url, code }, { cause: error });
}

/** One index, manifest or blob: verified from the cache, or downloaded into it (at most `limit` bytes). */
async function ensureContent(
  source: RegistrySource,
  kind: ContentKind,
  digest: string,
  expect: { size: number | undefined; limit: number; label: string },
  context: ImageFetchContext,
  onBytes: (delta: number) => void,
): Promise<ContentResult> {
  const integrity = digestToIntegrity(digest);
  const running = context.inflight.get(integrity);
  if (running) return { ...(await running), downloaded: 0 }; // counted once, by the image that fetched it
  const work = (async (): Promise<ContentResult> => {
    const cached = await readEntry(context.cacheDir, integrity, expect.size, context.signal);
    if (cached.status === "hit") return { path: cached.path, cacheHit: true, downloaded: 0 };
    const where = source.describe(kind, digest);
    let downloaded = 0;
    try {
      const entry = await withRetries(
        async () => {
          const opened = await source.open({ kind, reference: digest, accept: kind === "manifests" ? MANIFEST_ACCEPT : undefined, label: expect.label, signal: context.signal, timeoutMs: context.timeoutMs });
          const announced = opened.length;
          if (announced !== undefined && (announced > expect.limit || (expect.size !== undefined && announced !== expect.size))) {
            opened.stream.destroy();
            throw new WorkError("EBADSIZE", `${expect.label}: size mismatch: expected ${expect.size ?? `at most ${expect.limit}`} bytes, ${opened.url} announces ${announced}`, {
              label: expect.label,
              url: opened.url,
              expected: expect.size ?? expect.limit,
              found: announced,
            });
          }
          const capped = new SizeCap(expect.limit, expect.label, opened.url);
          pipeline(opened.stream, capped, () => undefined); // an error on either side destroys both
          return await writeEntry(context.cacheDir, capped, {
            integrity,
            size: expect.size,
            label: expect.label,
            url: opened.url,
            signal: context.signal,
            onBytes: (delta) => {
              downloaded += delta;
              onBytes(delta);
            },
          });
        },
        context.retry,
        { signal: context.signal },
      );
      return { path: entry.path, cacheHit: false, downloaded };
    } catch (error) {
      if (context.signal?.aborted) throw new WorkError("EABORTED", `${expect.label}: fetch interrupted; nothing partial was kept`, { label: expect.label }, { cause: error });
      throw finalError(error, expect.label, where);
    }
  })();
  context.inflight.set(integrity, work);
  return await work;
}

/** Brings one pinned image into the cache; `onBytes` sees every byte downloaded for it. */
export async function fetchImage(job: ImageJob, context: ImageFetchContext, onBytes: (delta: number) => void = () => undefined): Promise<FetchedImage> {
  const label = imageLabel(job);
  const source = registrySource(job.registry, job.repository, context);
  const results: ContentResult[] = [];
  const got = async (kind: ContentKind, digest: string, expect: { size: number | undefined; limit: number; label: string }) => {
    const result = await ensureContent(source, kind, digest, expect, context, onBytes);
    results.push(result);
    return result;
  };

  // 1. The index (its size is not pinned: bounded like a registry bounds manifests).
  let manifestSize: number | undefined;
  if (job.index !== job.digest) {
    const index = await got("manifests", job.index, { size: undefined, limit: MAX_MANIFEST_BYTES, label: `${label} index ${job.index}` });
    const parsed = parseImageDocument(await readFile(index.path));
    const where = source.describe("manifests", job.index);
    if (parsed.kind !== "index") {
      throw new WorkError("EINTEGRITY", `${label}: ${job.index} (${where}) is not an image index${parsed.kind === "invalid" ? `: ${parsed.problem}` : ""}`, { image: job.image, digest: job.index, url: where });
    }
    const entry = findPlatform(parsed.index, job.platform);
    if (!entry) {
      const has = parsed.index.manifests.map(platformOf).filter(Boolean).join(", ") || "no platforms";
      throw new WorkError("ENOPLATFORM", `${job.image}: index ${job.index} (${where}) has no ${job.platform} manifest (it has ${has})`, { image: job.image, platform: job.platform, digest: job.index, url: where });
    }
    if (entry.digest !== job.digest) {
      throw new WorkError(
        "EINTEGRITY",
        `${label}: index ${job.index} (${where}) names ${entry.digest} for ${job.platform}, but the lock manifest pins ${job.digest}`,
        { image: job.image, platform: job.platform, digest: job.digest, found: entry.digest, url: where },
      );
    }
    manifestSize = entry.size;
  }
  if (manifestSize !== undefined && manifestSize > job.size) {
    throw new WorkError("EBADSIZE", `${label}: manifest ${job.digest} alone is ${manifestSize} bytes, more than the pinned image size ${job.size}`, { image: job.image, digest: job.digest, expected: job.size, found: manifestSize });
  }

  // 2. The platform manifest, read up to its size.
  const manifest = await got("manifests", job.digest, { size: manifestSize, limit: Math.min(job.size, MAX_MANIFEST_BYTES), label: `${label} manifest ${job.digest}` });
  const manifestBytes = await readFile(manifest.path);
  const parsed = parseImageDocument(manifestBytes);
  if (parsed.kind !== "manifest") {
    const where = source.describe("manifests", job.digest);
    throw new WorkError("EINTEGRITY", `${label}: ${job.digest} (${where}) is not an image manifest${parsed.kind === "invalid" ? `: ${parsed.problem}` : ""}`, { image: job.image, digest: job.digest, url: where });
  }
  const doc: ImageManifest = parsed.manifest;
  const total = imageSize(manifestBytes.length, doc);
  if (total !== job.size) {
    throw new WorkError(
      "EBADSIZE",
      `${label}: manifest ${job.digest} adds up to ${total} bytes (manifest + config + layers), the lock manifest pins ${job.size}; nothing beyond the pinned size is fetched`,
      { image: job.image, digest: job.digest, expected: job.size, found: total },
    );
  }

  // 3. Config and layers, each read up to its descriptor's size; a blob shared by two images is fetched once.
  const blobs = [{ what: "config", descriptor: doc.config }, ...doc.layers.map((descriptor) => ({ what: "layer", descriptor }))];
  for (const { what, descriptor } of blobs) {
    await got("blobs", descriptor.digest, { size: descriptor.size, limit: descriptor.size, label: `${label} ${what} ${descriptor.digest}` });
  }
  return {
    image: job.image,
    platform: job.platform,
    index: job.index,
    digest: job.digest,
    size: job.size,
    cacheHit: results.every((r) => r.cacheHit),
    bytesDownloaded: results.reduce((sum, r) => sum + r.downloaded, 0),
    path: manifest.path,
    blobs: blobs.map((b) => b.descriptor.digest),
  };
}
