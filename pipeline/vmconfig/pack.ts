// vmconfig pack: scripts/vmconfig as a byte-reproducible vmconfig.tar.gz. Entries are sorted,
// every header field is fixed (mtime, uid/gid 0, mode 0755 for directories and *.sh, 0644
// otherwise) and the gzip header carries no mtime and a fixed OS byte, so the same tree always
// gives the same bytes whatever the checkout's mtimes, owners or umask.
import { createHash } from "node:crypto";
import { lstat, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { gzipSync, constants as zlib } from "node:zlib";
import { PROJECT_ROOT } from "../cli/options.js";
import { WorkError } from "../errors/index.js";
import { writeTar, type TarEntry } from "./tar.js";

/** 2000-01-01T00:00:00Z: fixed, and not so old that tar warns about an implausible time stamp. */
export const VMCONFIG_MTIME = 946_684_800;
export const DEFAULT_VMCONFIG_DIR = path.join(PROJECT_ROOT, "scripts", "vmconfig");

export interface PackedVmconfig {
  path: string;
  /** `sha256:<hex>` of the archive */
  digest: string;
  size: number;
}

function modeFor(relPath: string, type: TarEntry["type"]): number {
  return type === "directory" || relPath.endsWith(".sh") ? 0o755 : 0o644;
}

async function collect(root: string, rel: string, into: TarEntry[]): Promise<void> {
  const names = (await readdir(path.join(root, rel))).sort();
  for (const name of names) {
    const relPath = rel ? `${rel}/${name}` : name;
    const full = path.join(root, relPath);
    const stat = await lstat(full);
    if (stat.isDirectory()) {
      into.push({ path: relPath, type: "directory", mode: modeFor(relPath, "directory"), mtime: VMCONFIG_MTIME });
      await collect(root, relPath, into);
    } else if (stat.isFile()) {
      into.push({ path: relPath, type: "file", mode: modeFor(relPath, "file"), mtime: VMCONFIG_MTIME, content: await readFile(full) });
    } else {
      throw new WorkError("EVMCONFIGTREE", `${full}: only regular files and directories can be packed`, { path: full });
    }
  }
}

/** The archive bytes for the tree at `sourceDir`. */
export async function buildVmconfigArchive(sourceDir: string = DEFAULT_VMCONFIG_DIR): Promise<Buffer> {
  const entries: TarEntry[] = [];
  try {
    await collect(sourceDir, "", entries);
  } catch (error) {
    if (error instanceof WorkError) throw error;
    throw new WorkError("EVMCONFIGTREE", `cannot read the vmconfig tree ${sourceDir}: ${(error as Error).message}`, { sourceDir }, { cause: error });
  }
  if (!entries.some((e) => e.path === "opt/podplane/bin/install.sh")) {
    throw new WorkError("EVMCONFIGTREE", `${sourceDir} has no opt/podplane/bin/install.sh: not a vmconfig tree`, { sourceDir });
  }
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const gz = gzipSync(writeTar(entries), { level: zlib.Z_BEST_COMPRESSION });
  // Byte 9 of the gzip header is the OS; zlib already leaves MTIME (bytes 4-7) at zero.
  gz[9] = 3;
  return gz;
}

/** Packs scripts/vmconfig (or `sourceDir`) into a byte-reproducible vmconfig.tar.gz at `outFile`. */
export async function packVmconfig(options: { outFile: string; sourceDir?: string }): Promise<PackedVmconfig> {
  const bytes = await buildVmconfigArchive(options.sourceDir ?? DEFAULT_VMCONFIG_DIR);
  const outFile = path.resolve(options.outFile);
  const tmp = `${outFile}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, bytes, { flag: "wx" });
    await rename(tmp, outFile);
  } catch (error) {
    throw new WorkError("EWRITE", `cannot write ${outFile}: ${(error as Error).message}`, { path: outFile }, { cause: error });
  } finally {
    await rm(tmp, { force: true });
  }
  return { path: outFile, digest: `sha256:${createHash("sha256").update(bytes).digest("hex")}`, size: bytes.length };
}
