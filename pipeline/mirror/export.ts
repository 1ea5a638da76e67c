// mirror export: lay the cached artifacts of the selected manifests out as a mirror tree
// (<dir>/<host>/<path of the upstream URL>). Entries are re-verified first; each file is
// hard-linked from the cache (copied across filesystems) and put in place by rename.
import { randomUUID } from "node:crypto";
import { copyFile, link, mkdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { checkEntry } from "../cache/index.js";
import { WorkError } from "../errors/index.js";
import { throwAll } from "../fetch/failures.js";
import { jobLabel, planFetch } from "../fetch/plan.js";
import { mirrorRelativePath } from "../fetch/mirror.js";
import type { Manifest } from "../manifest/load.js";
import { imageLabel, listImageContent, mirrorContentPath, planImages } from "../oci/index.js";

export interface ExportedFile {
  name: string;
  url: string;
  path: string;
  how: "linked" | "copied" | "present";
}

async function sameFile(a: string, b: string): Promise<boolean> {
  try {
    const [x, y] = await Promise.all([stat(a), stat(b)]);
    return x.ino === y.ino && x.dev === y.dev;
  } catch {
    return false;
  }
}

/** Puts `source` at `target` atomically: a hard link if possible, else a copy. */
async function placeFile(source: string, target: string): Promise<"linked" | "copied"> {
  await mkdir(path.dirname(target), { recursive: true });
  const tmp = `${target}.tmp-${randomUUID()}`;
  try {
    let how: "linked" | "copied" = "linked";
    try {
      await link(source, tmp);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "EXDEV" && code !== "EPERM" && code !== "EMLINK") throw error;
      await copyFile(source, tmp);
      how = "copied";
    }
    await rename(tmp, target);
    return how;
  } finally {
    await rm(tmp, { force: true });
  }
}

export async function exportMirror(options: {
  manifests: readonly Manifest[];
  cacheDir: string;
  dir: string;
  includeBaseImage?: boolean | undefined;
  /** Also export the manifests' container images (default true). */
  images?: boolean | undefined;
}): Promise<ExportedFile[]> {
  const jobs = planFetch(options.manifests, { includeBaseImage: options.includeBaseImage, unpinned: "skip" });
  const exported: ExportedFile[] = [];
  const problems: Error[] = [];
  for (const job of jobs) {
    const check = await checkEntry(options.cacheDir, job.integrity, job.size);
    if (check.status !== "ok") {
      const why = check.status === "missing" ? "not in the cache (run fetch first)" : `corrupt in the cache (${check.reason}; run fetch to replace it)`;
      problems.push(new WorkError(check.status === "missing" ? "ENOTCACHED" : "EINTEGRITY", `${jobLabel(job)}: ${why}`, { name: job.name, url: job.url, path: check.path }));
      continue;
    }
    const target = path.join(options.dir, ...mirrorRelativePath(job.url).split("/"));
    const how = (await sameFile(check.path, target)) ? "present" : await placeFile(check.path, target);
    exported.push({ name: job.name, url: job.url, path: target, how });
  }
  if (options.images !== false) exported.push(...(await exportImages(options.manifests, options.cacheDir, options.dir, problems)));
  throwAll(problems, (count) => `${count} artifacts could not be exported`);
  return exported;
}

/**
 * Each image as a registry would serve it, under <dir>/<registry>/v2/<repository>/:
 * manifests/<index digest>, manifests/<tag> (the same index: what the lock pins the tag to),
 * manifests/<platform manifest digest> and blobs/<digest> for config and layers.
 */
async function exportImages(manifests: readonly Manifest[], cacheDir: string, dir: string, problems: Error[]): Promise<ExportedFile[]> {
  const exported: ExportedFile[] = [];
  const written = new Set<string>(); // an index (and its tag) is shared by the arches of an image
  for (const job of planImages(manifests)) {
    let content;
    try {
      content = await listImageContent(cacheDir, job);
    } catch (error) {
      problems.push(error instanceof Error ? error : new Error(String(error)));
      continue;
    }
    const name = imageLabel(job);
    const files: [kind: "manifests" | "blobs", reference: string, source: string][] = [
      ["manifests", content.index.digest, content.index.path],
      ["manifests", job.tag, content.index.path],
      ["manifests", content.manifest.digest, content.manifest.path],
      ["blobs", content.config.digest, content.config.path],
      ...content.layers.map((layer): ["blobs", string, string] => ["blobs", layer.digest, layer.path]),
    ];
    for (const [kind, reference, source] of files) {
      const relative = mirrorContentPath(job.registry, job.repository, kind, reference);
      const target = path.join(dir, ...relative.split("/"));
      if (written.has(target)) continue;
      written.add(target);
      const how = (await sameFile(source, target)) ? "present" : await placeFile(source, target);
      exported.push({ name, url: `${job.registry}/${job.repository}@${reference}`, path: target, how });
    }
  }
  return exported;
}
