// What an in-process `build` with the fake Packer needs: a stand-in fixture mirror, and a cache
// that already holds the amd64 debootstrap base the way buildDebootstrapBase leaves it (the disk
// and its record beside it), so no real base is built.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { cachedDebootstrapBase } from "../../pipeline/image/base-choice.js";
import type { Kind } from "../../pipeline/manifest/index.js";
import { generateStandinMirror } from "../fixtures/standins/index.js";
import { tempDir } from "./temp-dir.js";

/** Writes a stand-in base disk (`content`) and its record into `cache`; returns the disk's path. */
export async function writeCachedBase(cache: string, content = "base", digest = `sha256:${"c".repeat(64)}`): Promise<string> {
  const { source } = await cachedDebootstrapBase(cache, "amd64");
  const image = path.join(cache, "base", source.replace(/^debootstrap:/, ""));
  await mkdir(path.dirname(image), { recursive: true });
  await writeFile(image, content);
  await writeFile(`${image}.json`, JSON.stringify({ digest, size: Buffer.byteLength(content) }));
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
