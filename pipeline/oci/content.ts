// An image's content in the cache: its index, its platform manifest, the config and layer
// blobs that manifest names, each at its content-addressed path. The one place that walks an
// image from its pins to files: `mirror export` uses it, and so will the stage that imports
// images into containerd (everything it needs is listed, already verified).
import { readFile } from "node:fs/promises";
import { checkEntry } from "../cache/index.js";
import { WorkError } from "../errors/index.js";
import { digestToIntegrity } from "../manifest/digest.js";
import { findPlatform, parseImageDocument, type ImageIndex, type ImageManifest } from "./media.js";
import { imageLabel, type ImageJob } from "./plan.js";

export interface CachedContent {
  digest: string;
  size: number;
  mediaType: string;
  /** Verified file in the content-addressed cache. */
  path: string;
}

export interface ImageContent {
  image: string;
  platform: string;
  index: CachedContent;
  manifest: CachedContent;
  config: CachedContent;
  layers: CachedContent[];
}

type Pins = Pick<ImageJob, "image" | "platform" | "index" | "digest" | "size">;

async function verified(cacheDir: string, pins: Pins, what: string, digest: string, size: number | undefined): Promise<{ path: string; size: number }> {
  const check = await checkEntry(cacheDir, digestToIntegrity(digest), size);
  if (check.status === "ok") return { path: check.path, size: check.size };
  const label = `${imageLabel(pins)} ${what} ${digest}`;
  if (check.status === "missing") throw new WorkError("ENOTCACHED", `${label}: not in the cache (run fetch first)`, { image: pins.image, digest, path: check.path });
  throw new WorkError("EINTEGRITY", `${label}: corrupt in the cache (${check.reason}; run fetch to replace it)`, { image: pins.image, digest, path: check.path });
}

/** Reads and parses a verified index or manifest from the cache. */
export async function readCachedDocument(file: string): Promise<{ bytes: Buffer; parsed: ReturnType<typeof parseImageDocument> }> {
  const bytes = await readFile(file);
  return { bytes, parsed: parseImageDocument(bytes) };
}

/**
 * Every cached file of one pinned image (index, platform manifest, config, layers), each
 * re-verified against its digest. Throws ENOTCACHED / EINTEGRITY naming the image and digest.
 */
export async function listImageContent(cacheDir: string, pins: Pins): Promise<ImageContent> {
  const indexFile = await verified(cacheDir, pins, "index", pins.index, undefined);
  const index = await readCachedDocument(indexFile.path);
  let manifestFile = indexFile;
  let indexDoc: ImageIndex | undefined;
  if (pins.index !== pins.digest) {
    if (index.parsed.kind !== "index") throw new WorkError("EINTEGRITY", `${imageLabel(pins)}: ${pins.index} is not an image index`, { image: pins.image, digest: pins.index });
    indexDoc = index.parsed.index;
    const entry = findPlatform(indexDoc, pins.platform);
    manifestFile = await verified(cacheDir, pins, "manifest", pins.digest, entry?.size);
  }
  const manifest = pins.index === pins.digest ? index : await readCachedDocument(manifestFile.path);
  if (manifest.parsed.kind !== "manifest") throw new WorkError("EINTEGRITY", `${imageLabel(pins)}: ${pins.digest} is not an image manifest`, { image: pins.image, digest: pins.digest });
  const doc: ImageManifest = manifest.parsed.manifest;
  const config = await verified(cacheDir, pins, "config", doc.config.digest, doc.config.size);
  const layers = [];
  for (const layer of doc.layers) {
    const file = await verified(cacheDir, pins, "layer", layer.digest, layer.size);
    layers.push({ digest: layer.digest, size: layer.size, mediaType: layer.mediaType ?? "application/octet-stream", path: file.path });
  }
  return {
    image: pins.image,
    platform: pins.platform,
    index: { digest: pins.index, size: indexFile.size, mediaType: indexDoc?.mediaType ?? doc.mediaType, path: indexFile.path },
    manifest: { digest: pins.digest, size: manifestFile.size, mediaType: doc.mediaType, path: manifestFile.path },
    config: { digest: doc.config.digest, size: doc.config.size, mediaType: doc.config.mediaType ?? "application/octet-stream", path: config.path },
    layers,
  };
}
