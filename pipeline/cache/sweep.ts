// A process killed outright (SIGKILL, power loss) cannot run its `finally`: its temp file stays
// in <cache>/tmp. Such files are never read (entries live only under content-v2, and only
// after a verified rename); they are swept once they are clearly abandoned.
import { readdir, rm, stat } from "node:fs/promises";
import path from "node:path";
import { tempDir } from "./path.js";

export const STALE_TEMP_MS = 24 * 60 * 60 * 1000;

/** Removes temp files not written to for `olderThanMs`; a temp file still being written is never touched. */
export async function sweepStaleTemps(cacheDir: string, olderThanMs = STALE_TEMP_MS): Promise<number> {
  const dir = tempDir(cacheDir);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  const cutoff = Date.now() - olderThanMs;
  for (const name of names) {
    const file = path.join(dir, name);
    try {
      if ((await stat(file)).mtimeMs < cutoff) {
        await rm(file, { force: true });
        removed++;
      }
    } catch {
      // gone already (another process swept it or renamed it into place)
    }
  }
  return removed;
}
