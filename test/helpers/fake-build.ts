// What an in-process `build` with the fake Packer needs: a stand-in fixture mirror, and a cache
// that already holds the amd64 debootstrap base the way buildDebootstrapBase leaves it (the disk
// and its record beside it), so no real base is built.
import { mkdir, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { PROJECT_ROOT } from "../../pipeline/cli/options.js";
import { fileSha256 } from "../../pipeline/image/file-digest.js";
import { cachedDebootstrapBase } from "../../pipeline/image/base-choice.js";
import type { Kind } from "../../pipeline/manifest/index.js";
import { generateStandinMirror } from "../fixtures/standins/index.js";
import { tempDir } from "./temp-dir.js";

export const TINY_DISK = path.join(PROJECT_ROOT, "test", "fixtures", "tiny-disk.sh");

/**
 * Writes a base disk and its record into `cache`; returns the disk's path. By default a real tiny
 * disk with a kernel and initrd (test/fixtures/tiny-disk.sh) under its true digest, which the
 * build VM's direct boot reads and checks; `content` (and its claimed `digest`) for tests that
 * only name the file.
 */
export async function writeCachedBase(cache: string, content?: string, digest = `sha256:${"c".repeat(64)}`): Promise<string> {
  const { source } = await cachedDebootstrapBase(cache, "amd64");
  const image = path.join(cache, "base", source.replace(/^debootstrap:/, ""));
  await mkdir(path.dirname(image), { recursive: true });
  if (content === undefined) {
    await execa("bash", [TINY_DISK, image]);
    await writeFile(`${image}.json`, JSON.stringify({ digest: await fileSha256(image), size: (await stat(image)).size }));
  } else {
    await writeFile(image, content);
    await writeFile(`${image}.json`, JSON.stringify({ digest, size: Buffer.byteLength(content) }));
  }
  return image;
}

/** A temp dir with the fixture mirror for `kinds` (amd64), a cache with the base, and an out dir path. */
export async function fakeBuildDirs(prefix: string, kinds: Kind[]) {
  const dir = await tempDir(prefix);
  const fixture = await generateStandinMirror({ dir: path.join(dir, "fixture"), kinds, arches: ["amd64"] });
  const cache = path.join(dir, "cache");
  await writeCachedBase(cache);
  return { dir, fixture, cache, out: path.join(dir, "out") };
}
