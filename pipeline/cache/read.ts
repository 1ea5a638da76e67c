// Reading from the cache always re-verifies: the bytes are hashed again and compared with the
// digest that names them. The one recovery rule: a corrupt entry is evicted (and the fetch
// stage downloads it again, once).
import { rm, stat } from "node:fs/promises";
import { hashFile } from "./hash.js";
import { contentPath, parseIntegrity } from "./path.js";

export type EntryCheck =
  | { status: "ok"; path: string; size: number }
  | { status: "missing"; path: string }
  | { status: "corrupt"; path: string; reason: string; found: string; foundSize: number; ino: number };

/** Hashes the cache entry for `integrity` (and checks its size when given); never changes the cache. */
export async function checkEntry(cacheDir: string, integrity: string, size?: number, signal?: AbortSignal): Promise<EntryCheck> {
  const { algorithm, integrity: expected } = parseIntegrity(integrity);
  const file = contentPath(cacheDir, integrity);
  let hashed;
  try {
    hashed = await hashFile(file, algorithm, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { status: "missing", path: file };
    throw error;
  }
  const found = `${algorithm}-${hashed.digest}`;
  if (size !== undefined && hashed.size !== size) {
    return { status: "corrupt", path: file, reason: `size ${hashed.size}, expected ${size}`, found, foundSize: hashed.size, ino: hashed.ino };
  }
  if (found !== expected) {
    return { status: "corrupt", path: file, reason: `digest ${found}, expected ${expected}`, found, foundSize: hashed.size, ino: hashed.ino };
  }
  return { status: "ok", path: file, size: hashed.size };
}

export type ReadResult = { status: "hit"; path: string; size: number } | { status: "missing" } | { status: "evicted"; reason: string };

/** A verified entry, or why there is none. A corrupt entry is removed before returning. */
export async function readEntry(cacheDir: string, integrity: string, size?: number, signal?: AbortSignal): Promise<ReadResult> {
  const check = await checkEntry(cacheDir, integrity, size, signal);
  if (check.status === "ok") return { status: "hit", path: check.path, size: check.size };
  if (check.status === "missing") return { status: "missing" };
  // Evict only the file that was found corrupt: another process may have renamed a verified
  // copy into place meanwhile, and that one must stay.
  const now = await stat(check.path).catch(() => undefined);
  if (now?.ino === check.ino) await rm(check.path, { force: true });
  return { status: "evicted", reason: check.reason };
}
