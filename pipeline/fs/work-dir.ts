// Work directories for steps that mount things (the base disk, inspect): created with the
// owner's pid in them, always released and removed through safeRemove, and swept on the next
// run when their owner died without cleaning up (SIGKILL, a power cut).
import { mkdtemp, readFile, readdir, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { AggregateWorkError } from "../errors/index.js";
import { safeRemove } from "./safe-remove.js";

export const OWNER_FILE = "owner.pid";

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Work directories of earlier builds whose process is gone (killed with SIGKILL, a power cut):
 * released and removed through safeRemove, so a mount they left is never walked through.
 */
export async function sweepStaleWork(dir: string, prefix = "."): Promise<string[]> {
  const removed: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (!entry.isDirectory() || !entry.name.startsWith(prefix)) continue;
    const work = path.join(dir, entry.name);
    const owner = Number((await readFile(path.join(work, OWNER_FILE), "utf8").catch(() => "")).trim());
    if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) continue;
    if (!(owner > 0)) {
      // No owner yet may mean "just created by a run that is about to write it"; and a directory
      // gone since the listing was removed by its own run (concurrent mounts in one process).
      const info = await stat(work).catch(() => undefined);
      if (!info || Date.now() - info.mtimeMs < 60_000) continue;
    }
    await safeRemove(work);
    removed.push(work);
  }
  return removed;
}

/** Runs `work` in a fresh directory under `parent`, always released and removed (safeRemove) after. */
export async function withWorkDir<T>(parent: string, prefix: string, work: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(parent, prefix));
  let result: T;
  try {
    await writeFile(path.join(dir, OWNER_FILE), `${process.pid}\n`);
    result = await work(dir);
  } catch (error) {
    // A failed release is reported too, but never hides the error that got us here.
    const released = await safeRemove(dir).then(() => undefined, (e: unknown) => e);
    if (released instanceof Error && error instanceof Error) throw new AggregateWorkError(`${error.message}; and the cleanup failed`, [error, released]);
    throw error;
  }
  await safeRemove(dir);
  return result;
}

