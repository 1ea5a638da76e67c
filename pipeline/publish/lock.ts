// A lock file beside images.json so that two builds publishing at once merge, not overwrite.
import { open, rm, stat } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { WorkError } from "../errors/index.js";

const STALE_MS = 5 * 60_000;

export async function withFileLock<T>(lockFile: string, work: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const handle = await open(lockFile, "wx");
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const age = await stat(lockFile).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age > STALE_MS) await rm(lockFile, { force: true });
      else if (Date.now() > deadline) throw new WorkError("ELOCKED", `${lockFile} is held by another build; remove it if no build is running`, { lockFile });
      else await sleep(50);
    }
  }
  try {
    return await work();
  } finally {
    await rm(lockFile, { force: true });
  }
}
