// `pin image`: resolve a tag to what Podplane's manifests pin (scripts/manifests/images.go in
// podplane/vmconfig): the index digest, and per platform the manifest digest and the image size
// (the platform manifest's bytes plus its config and layer blobs). Digests are computed here
// from the bytes, never taken from a header; the index and manifests go into the cache.
import { createHash } from "node:crypto";
import { pipeline, Transform, type TransformCallback } from "node:stream";
import { writeEntry } from "../cache/index.js";
import { WorkError } from "../errors/index.js";
import type { DownloadContext } from "../fetch/download.js";
import { withRetries } from "../fetch/retry.js";
import { digestToIntegrity } from "../manifest/digest.js";
import type { Arch } from "../manifest/schema.js";
import { findPlatform, imageSize, MANIFEST_ACCEPT, MAX_MANIFEST_BYTES, parseImageDocument, platformOf } from "./media.js";
import { parseImageReference } from "./reference.js";
import { registrySource, type RegistrySource } from "./registry.js";
import { readFile } from "node:fs/promises";

export interface ResolvedPlatform {
  arch: Arch;
  platform: string;
  digest: string;
  size: number;
}

export interface ResolvedImage {
  image: string;
  index: string;
  /** Where the index was read. */
  url: string;
  platforms: ResolvedPlatform[];
}

class Limit extends Transform {
  private seen = 0;
  constructor(
    private readonly limit: number,
    private readonly label: string,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.limit) return done(new WorkError("EBADSIZE", `${this.label}: larger than ${this.limit} bytes; not an image manifest`, { label: this.label }));
    done(null, chunk);
  }
}

/** A manifest or index by tag or digest into the cache; its bytes and sha256 digest. */
async function readManifest(source: RegistrySource, reference: string, label: string, context: DownloadContext, expect?: { digest: string; size: number }): Promise<{ bytes: Buffer; digest: string; url: string }> {
  return await withRetries(
    async () => {
      const opened = await source.open({ kind: "manifests", reference, accept: MANIFEST_ACCEPT, label, signal: context.signal, timeoutMs: context.timeoutMs });
      const capped = new Limit(expect?.size ?? MAX_MANIFEST_BYTES, label);
      pipeline(opened.stream, capped, () => undefined);
      const entry = await writeEntry(context.cacheDir, capped, {
        integrity: expect ? digestToIntegrity(expect.digest) : undefined,
        size: expect?.size,
        algorithm: "sha256",
        label,
        url: opened.url,
        signal: context.signal,
      });
      const bytes = await readFile(entry.path);
      return { bytes, digest: `sha256:${createHash("sha256").update(bytes).digest("hex")}`, url: opened.url };
    },
    context.retry,
    { signal: context.signal },
  );
}

export async function resolveImage(ref: string, arches: readonly Arch[], context: DownloadContext): Promise<ResolvedImage> {
  const parsed = parseImageReference(ref);
  const source = registrySource(parsed.registry, parsed.repository, context);
  const index = await readManifest(source, parsed.tag, `${ref} index`, context);
  const doc = parseImageDocument(index.bytes);
  if (doc.kind !== "index") {
    throw new WorkError(
      "ENOTINDEX",
      `${ref}: ${index.url} is ${doc.kind === "manifest" ? "a single-platform manifest" : `not an image index (${doc.problem})`}; Podplane's manifests pin a multi-platform index`,
      { image: ref, url: index.url },
    );
  }
  const platforms: ResolvedPlatform[] = [];
  for (const arch of arches) {
    const platform = `linux/${arch}`;
    const entry = findPlatform(doc.index, platform);
    if (!entry) {
      const has = doc.index.manifests.map(platformOf).filter(Boolean).join(", ") || "no platforms";
      throw new WorkError("ENOPLATFORM", `${ref}: index ${index.digest} (${index.url}) has no ${platform} manifest (it has ${has})`, { image: ref, platform, digest: index.digest, url: index.url });
    }
    const manifest = await readManifest(source, entry.digest, `${ref} ${platform} manifest ${entry.digest}`, context, { digest: entry.digest, size: entry.size });
    const parsedManifest = parseImageDocument(manifest.bytes);
    if (parsedManifest.kind !== "manifest") throw new WorkError("ENOTMANIFEST", `${ref} ${platform}: ${manifest.url} is not an image manifest`, { image: ref, url: manifest.url });
    platforms.push({ arch, platform, digest: entry.digest, size: imageSize(manifest.bytes.length, parsedManifest.manifest) });
  }
  return { image: ref, index: index.digest, url: index.url, platforms };
}
