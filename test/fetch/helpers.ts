// Shared helpers of the fetch/cache/pin/mirror suites: temp dirs, fixture bytes and lock
// manifests built from the seeded ones with fixture dependencies in place of the real ones.
import { createHash, randomBytes } from "node:crypto";
import { cp, mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { onTestFinished } from "vitest";
import { mirrorRelativePath } from "../../pipeline/fetch/index.js";
import type { Arch, Kind } from "../../pipeline/manifest/index.js";
import { startFixtureServer, type FixtureServer } from "../fixtures/http-server.js";
import { tempDir } from "../helpers/temp-dir.js";

export const REPO = path.resolve(import.meta.dirname, "../..");
export const CLI = path.join(REPO, "bin/podplane-images.js");

export { tempDir } from "../helpers/temp-dir.js";

/** A temp dir holding a copy of the repo's lock manifests (pin and bump edit the copy). */
export async function copiedManifests(prefix: string): Promise<{ dir: string; manifestsDir: string }> {
  const dir = await tempDir(prefix);
  const manifestsDir = path.join(dir, "manifests");
  await cp(path.join(REPO, "manifests"), manifestsDir, { recursive: true });
  return { dir, manifestsDir };
}

/**
 * copiedManifests plus two servers, closed when the test ends: the mirror that serves the bytes,
 * and upstream's checksum files and signatures reached another way (--checksums-from).
 */
export async function pinWorkspace(prefix: string): Promise<{ dir: string; manifestsDir: string; mirror: FixtureServer; upstream: FixtureServer }> {
  const { dir, manifestsDir } = await copiedManifests(prefix);
  const mirror = await startFixtureServer();
  const upstream = await startFixtureServer();
  onTestFinished(async () => {
    await Promise.all([mirror.close(), upstream.close()]);
  });
  return { dir, manifestsDir, mirror, upstream };
}

export interface FixtureArtifact {
  name: string;
  version: string;
  /** Upstream URL (must contain the arch). */
  url: string;
  bytes: Buffer;
  type?: "binary" | "tar.gz" | "deb";
  algorithm?: "sha256" | "sha512";
}

export function digestOf(bytes: Buffer, algorithm: "sha256" | "sha512" = "sha256"): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest("hex")}`;
}

export function artifact(name: string, arch: Arch, size: number, overrides: Partial<FixtureArtifact> = {}): FixtureArtifact {
  return {
    name,
    version: "1.0.0",
    url: `https://dl.example.test/release/v1.0.0/linux/${arch}/${name}`,
    bytes: randomBytes(size),
    ...overrides,
  };
}

/**
 * Writes `<dir>/<kind>.debian-13.<arch>.json` from the seeded manifest with `artifacts` as its
 * dependencies and `images` as its container images (none by default: the seeded pause image
 * lives on registry.k8s.io, which no test reaches).
 */
export async function writeManifest(dir: string, kind: Kind, arch: Arch, artifacts: readonly FixtureArtifact[], images: readonly unknown[] = []): Promise<string> {
  const template = JSON.parse(await readFile(path.join(REPO, "manifests", `${kind}.debian-13.${arch}.json`), "utf8")) as {
    vmconfig: { dependencies: Record<string, unknown>; images: unknown[] };
  };
  template.vmconfig.images = [...images];
  const dependencies: Record<string, unknown> = {
    vmconfig: { version: "dev", url: "", type: "tar.gz", digest: "", size: 0 },
  };
  for (const a of artifacts) {
    dependencies[a.name] = { version: a.version, url: a.url, type: a.type ?? "binary", digest: digestOf(a.bytes, a.algorithm), size: a.bytes.length };
  }
  template.vmconfig.dependencies = dependencies;
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${kind}.debian-13.${arch}.json`);
  await writeFile(file, `${JSON.stringify(template, null, 2)}\n`);
  return file;
}

/** The mirror path (`/<host>/<path>`) of an upstream URL, as the fixture server routes it. */
export function mirrorPath(url: string): string {
  return `/${mirrorRelativePath(url)}`;
}

export function serveOnMirror(server: FixtureServer, artifacts: readonly FixtureArtifact[]): void {
  for (const a of artifacts) server.file(mirrorPath(a.url), a.bytes);
}

/** Every file under `dir` (relative paths), for asserting what a cache holds. */
export async function listFiles(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true });
    return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name))).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}
