// Writes the stage directory install.sh reads (brief: "The stage directory"):
//   artifacts.tsv, artifacts/<name>/<upstream file name>, vmconfig.tar.gz, manifest.json,
//   and, when image content is given, images.tsv + images/<n>-<image>.oci.tar (stage-images.ts)
import { copyFile, link, mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { WorkError } from "../errors/index.js";
import type { FetchedArtifact } from "../fetch/index.js";
import type { Manifest } from "../manifest/load.js";
import type { PackedVmconfig } from "../vmconfig/index.js";
import { stageImages, type ImageBlobs, type StagedImage } from "./stage-images.js";

export interface StagedArtifact {
  name: string;
  version: string;
  type: string;
  digest: string;
  /** Relative to the stage directory. */
  relativePath: string;
  size: number;
}

export interface Stage {
  dir: string;
  artifacts: StagedArtifact[];
  /** Sum of the staged artifact sizes (what the image carries on top of its base). */
  bytes: number;
  /** The container images staged for import (empty when no image content was given). */
  images: StagedImage[];
}

/** The upstream file name of an artifact URL (`.../v2.3.1/containerd-2.3.1-linux-amd64.tar.gz`). */
export function upstreamFileName(url: string): string {
  const name = decodeURIComponent(new URL(url).pathname.split("/").filter(Boolean).at(-1) ?? "");
  if (!name || name === "." || name === ".." || name.includes("/")) throw new WorkError("ESTAGE", `cannot take a file name from ${url}`, { url });
  return name;
}

export function artifactsTsv(artifacts: readonly StagedArtifact[]): string {
  return [...artifacts]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((a) => [a.name, a.version, a.type, a.digest, a.relativePath].join("\t"))
    .map((line) => `${line}\n`)
    .join("");
}

/** A hard link when the cache is on the same file system, else a copy. */
async function placeFile(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch {
    await copyFile(from, to);
  }
}

export interface WriteStageOptions {
  dir: string;
  manifest: Manifest;
  fetched: readonly FetchedArtifact[];
  vmconfig: PackedVmconfig;
  /**
   * The content of every image the manifest pins, for this arch (pipeline/oci listImageContent
   * per manifest image). Absent: no image is staged (nothing is imported at bake time).
   */
  images?: readonly ImageBlobs[];
}

export async function writeStage(options: WriteStageOptions): Promise<Stage> {
  const { dir, manifest } = options;
  const missing: string[] = [];
  const staged: StagedArtifact[] = [];
  const sources: { from: string; to: string }[] = [];
  for (const dep of manifest.dependencies.filter((d) => !d.local)) {
    const found = options.fetched.find((f) => f.name === dep.name && f.digest === dep.digest) ?? options.fetched.find((f) => f.digest === dep.digest && dep.digest !== "");
    if (!found) {
      missing.push(`${dep.name} ${dep.version} (${dep.digest || "unpinned"})`);
      continue;
    }
    const relativePath = path.posix.join("artifacts", dep.name, upstreamFileName(dep.url));
    staged.push({ name: dep.name, version: dep.version, type: dep.type, digest: dep.digest, relativePath, size: found.size });
    sources.push({ from: found.path, to: path.join(dir, relativePath) });
  }
  if (missing.length > 0) {
    throw new WorkError("ESTAGE", `${manifest.file}: no verified artifact in the fetch results for ${missing.join(", ")}`, { missing });
  }
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  for (const { from, to } of sources) {
    await mkdir(path.dirname(to), { recursive: true });
    await placeFile(from, to);
  }
  await copyFile(options.vmconfig.path, path.join(dir, "vmconfig.tar.gz"));
  await copyFile(manifest.file, path.join(dir, "manifest.json"));
  await writeFile(path.join(dir, "artifacts.tsv"), artifactsTsv(staged));
  const images = options.images ? await stageImages(dir, manifest.images, options.images) : [];
  staged.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { dir, artifacts: staged, bytes: staged.reduce((sum, a) => sum + a.size, 0), images };
}
