// The digest of the Packer template and provisioner scripts, an input of every image name.
// Its own module (no handlebars) so a plan can name images without loading the renderer.
import { createHash } from "node:crypto";
import { readFile, readdir } from "node:fs/promises";
import path from "node:path";
import { PROJECT_ROOT } from "../cli/options.js";

export const PACKER_DIR = path.join(PROJECT_ROOT, "packer");

async function listFiles(dir: string, prefix = ""): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries) {
    const rel = path.posix.join(prefix, entry.name);
    if (entry.isDirectory()) files.push(...(await listFiles(path.join(dir, entry.name), rel)));
    else if (entry.isFile()) files.push(rel);
  }
  return files.sort();
}

/** sha256 over every file under packer/ (template and provisioner scripts), by relative path. */
export async function templateDigest(dir = PACKER_DIR): Promise<string> {
  return (await templateFiles(dir)).digest;
}

/** templateDigest and, from the same single read of each file, every file's own sha256 (the provenance lists them). */
export async function templateFiles(dir = PACKER_DIR): Promise<{ digest: string; files: Array<{ path: string; digest: string }> }> {
  const hash = createHash("sha256");
  const files = [];
  for (const rel of await listFiles(dir)) {
    const content = await readFile(path.join(dir, rel));
    hash.update(`${rel}\0${content.length}\0`).update(content);
    files.push({ path: rel, digest: `sha256:${createHash("sha256").update(content).digest("hex")}` });
  }
  return { digest: `sha256:${hash.digest("hex")}`, files };
}
