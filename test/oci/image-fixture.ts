// A tiny multi-platform OCI image built here: per arch, one gzipped tar layer holding a small
// static file, a config and a manifest, all under one index. Held in memory (for the in-process
// registry) and writable as an OCI image layout (for skopeo to push to the real registry).
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import * as tar from "tar";
import { OCI_INDEX, OCI_MANIFEST } from "../../pipeline/oci/index.js";

export interface PlatformImage {
  arch: "amd64" | "arm64";
  manifest: Buffer;
  digest: string;
  config: { digest: string; bytes: Buffer };
  layer: { digest: string; bytes: Buffer };
  /** Podplane's size: manifest bytes + config + layers. */
  size: number;
}

export interface FixtureImage {
  index: Buffer;
  indexDigest: string;
  platforms: PlatformImage[];
  /** Every blob (configs, layers) by digest. */
  blobs: Map<string, Buffer>;
  /** Every manifest and index by digest. */
  manifests: Map<string, Buffer>;
}

export function sha256(bytes: Buffer): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

async function layerTar(arch: string, content: string): Promise<Buffer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "pp-oci-layer-"));
  try {
    await writeFile(path.join(dir, "pause"), `#!/bin/sh\n# ${content} ${arch}\nexit 0\n`, { mode: 0o755 });
    const chunks: Buffer[] = [];
    const stream = tar.c({ cwd: dir, portable: true, mtime: new Date(0) }, ["pause"]);
    for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
    return Buffer.concat(chunks);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

/** Builds the image for `arches`; `content` varies the bytes (a second image shares nothing with the first). */
export async function buildFixtureImage(arches: readonly ("amd64" | "arm64")[] = ["amd64", "arm64"], content = "podplane test pause"): Promise<FixtureImage> {
  const blobs = new Map<string, Buffer>();
  const manifests = new Map<string, Buffer>();
  const platforms: PlatformImage[] = [];
  for (const arch of arches) {
    const rawTar = await layerTar(arch, content);
    const layer = gzipSync(rawTar, { level: 9 });
    const config = json({
      architecture: arch,
      os: "linux",
      config: { Entrypoint: ["/pause"] },
      rootfs: { type: "layers", diff_ids: [sha256(rawTar)] },
    });
    const manifest = json({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha256(config), size: config.length },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: sha256(layer), size: layer.length }],
    });
    blobs.set(sha256(config), config);
    blobs.set(sha256(layer), layer);
    manifests.set(sha256(manifest), manifest);
    platforms.push({ arch, manifest, digest: sha256(manifest), config: { digest: sha256(config), bytes: config }, layer: { digest: sha256(layer), bytes: layer }, size: manifest.length + config.length + layer.length });
  }
  const index = json({
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: platforms.map((p) => ({ mediaType: OCI_MANIFEST, digest: p.digest, size: p.manifest.length, platform: { architecture: p.arch, os: "linux" } })),
  });
  manifests.set(sha256(index), index);
  return { index, indexDigest: sha256(index), platforms, blobs, manifests };
}

/** The vmconfig.images entry of `image` for `arch`, as `pin image` writes it. */
export function imageEntry(ref: string, image: FixtureImage, arch: "amd64" | "arm64"): Record<string, unknown> {
  const p = image.platforms.find((x) => x.arch === arch);
  if (!p) throw new Error(`fixture image has no ${arch}`);
  return { image: ref, digest: p.digest, size: p.size, platform: `linux/${arch}`, index: image.indexDigest };
}

/** Writes `image` as an OCI image layout at `dir` with `tag` naming its index. */
export async function writeOciLayout(dir: string, image: FixtureImage, tag: string): Promise<void> {
  await mkdir(path.join(dir, "blobs", "sha256"), { recursive: true });
  await writeFile(path.join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  for (const [digest, bytes] of [...image.blobs, ...image.manifests]) await writeFile(path.join(dir, "blobs", "sha256", digest.slice("sha256:".length)), bytes);
  await writeFile(
    path.join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [{ mediaType: OCI_INDEX, digest: image.indexDigest, size: image.index.length, annotations: { "org.opencontainers.image.ref.name": tag } }],
    }),
  );
}
