// The container images of a stage: one OCI archive per pinned image (oci-layout, index.json
// naming the image, blobs/sha256/<hex> of its index, the platform's manifest, config and
// layers), listed in images.tsv for the containerd room's import-images.sh, which imports them
// inside the build VM. Only the image's own platform is staged: the index names the others
// but their blobs are not needed (containerd imports with --platform, as a pull would).
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { copyFile, link, mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import * as tar from "tar";
import { WorkError } from "../errors/index.js";
import type { ContainerImage } from "../manifest/schema.js";
import type { CachedContent, ImageContent } from "../oci/index.js";

/** One content-addressed, already verified file, and everything of one image for one platform:
 * what pipeline/oci's listImageContent returns for a pinned image. */
export type ImageBlob = CachedContent;
export type ImageBlobs = ImageContent;

export interface StagedImage {
  image: string;
  platform: string;
  index: string;
  digest: string;
  /** Relative to the stage directory. */
  relativePath: string;
  sha256: string;
  size: number;
  /** The platform manifest, config and layer digests the import must leave in the store. */
  blobs: string[];
}

/** Every mtime in an archive (2026-01-01T00:00:00Z): same blobs, same archive bytes. */
const FIXED_MTIME = new Date(Date.UTC(2026, 0, 1));

const hexOf = (digest: string): string => {
  const match = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (!match?.[1]) throw new WorkError("ESTAGE", `not a sha256 digest: ${digest}`, { digest });
  return match[1];
};

async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(file), hash);
  return `sha256:${hash.digest("hex")}`;
}

/** The blobs of `content` must be the ones the manifest pins (index, platform manifest, size). */
export function checkImageBlobs(pinned: ContainerImage, content: ImageBlobs): void {
  const label = `${pinned.image} (${pinned.platform})`;
  const problems: string[] = [];
  if (content.image !== pinned.image) problems.push(`blobs of ${content.image}`);
  if (content.platform !== pinned.platform) problems.push(`platform ${content.platform}`);
  if (content.index.digest !== pinned.index) problems.push(`index ${content.index.digest}, pinned ${pinned.index}`);
  if (content.manifest.digest !== pinned.digest) problems.push(`manifest ${content.manifest.digest}, pinned ${pinned.digest}`);
  const size = content.manifest.size + content.config.size + content.layers.reduce((sum, l) => sum + l.size, 0);
  if (size !== pinned.size) problems.push(`manifest + config + layers are ${size} bytes, pinned ${pinned.size}`);
  if (problems.length > 0) throw new WorkError("ESTAGE", `${label}: the image content given to the stage does not match the manifest: ${problems.join("; ")}`, { image: pinned.image });
}

/** Writes the OCI archive of one image (uncompressed tar; the layers stay as they are). */
export async function writeImageArchive(file: string, content: ImageBlobs, scratchParent: string): Promise<void> {
  const scratch = await mkdtemp(path.join(scratchParent, ".image-"));
  try {
    const tag = content.image.slice(content.image.lastIndexOf(":") + 1);
    const blobs = [content.index, content.manifest, content.config, ...content.layers];
    const members = ["oci-layout", "index.json", "blobs", "blobs/sha256"];
    await mkdir(path.join(scratch, "blobs", "sha256"), { recursive: true });
    for (const blob of blobs) {
      const name = `blobs/sha256/${hexOf(blob.digest)}`;
      if (members.includes(name)) continue; // an image pinned without an index: index = manifest
      members.push(name);
      await link(blob.path, path.join(scratch, name)).catch(() => copyFile(blob.path, path.join(scratch, name)));
    }
    await writeFile(path.join(scratch, "oci-layout"), `${JSON.stringify({ imageLayoutVersion: "1.0.0" })}\n`);
    const top = {
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [
        {
          mediaType: content.index.mediaType,
          digest: content.index.digest,
          size: content.index.size,
          // containerd names the image by io.containerd.image.name; other tools read ref.name.
          annotations: { "io.containerd.image.name": content.image, "org.opencontainers.image.ref.name": tag },
        },
      ],
    };
    await writeFile(path.join(scratch, "index.json"), `${JSON.stringify(top)}\n`);
    await mkdir(path.dirname(file), { recursive: true });
    await tar.create({ file, cwd: scratch, portable: true, mtime: FIXED_MTIME, noDirRecurse: true }, members);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** images.tsv: image platform index digest archive sha256 blobs (TAB-separated, sorted by image). */
export function imagesTsv(images: readonly StagedImage[]): string {
  return [...images]
    .sort((a, b) => (a.image < b.image ? -1 : a.image > b.image ? 1 : 0))
    .map((i) => `${[i.image, i.platform, i.index, i.digest, i.relativePath, i.sha256, i.blobs.join(",")].join("\t")}\n`)
    .join("");
}

/**
 * Stages every pinned image from `given` (matched by image and platform): an archive under
 * `images/` and images.tsv. A pinned image without content is an error naming it.
 */
export async function stageImages(dir: string, pinned: readonly ContainerImage[], given: readonly ImageBlobs[]): Promise<StagedImage[]> {
  const staged: StagedImage[] = [];
  const missing = pinned.filter((p) => !given.some((g) => g.image === p.image && g.platform === p.platform));
  if (missing.length > 0) throw new WorkError("ESTAGE", `no image content for ${missing.map((m) => `${m.image} (${m.platform})`).join(", ")}: fetch the images first`, { missing: missing.map((m) => m.image) });
  for (const [n, image] of pinned.entries()) {
    const content = given.find((g) => g.image === image.image && g.platform === image.platform) as ImageBlobs;
    checkImageBlobs(image, content);
    const name = `${n}-${image.image.replace(/[^A-Za-z0-9._-]+/g, "_")}.oci.tar`;
    const relativePath = path.posix.join("images", name);
    const file = path.join(dir, relativePath);
    await writeImageArchive(file, content, dir);
    const { size } = await stat(file);
    staged.push({
      image: image.image,
      platform: image.platform,
      index: image.index,
      digest: image.digest,
      relativePath,
      sha256: await sha256File(file),
      size,
      blobs: [content.manifest, content.config, ...content.layers].map((b) => b.digest),
    });
  }
  await writeFile(path.join(dir, "images.tsv"), imagesTsv(staged));
  return staged;
}
