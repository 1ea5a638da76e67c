// Hashing a file on disk: large sequential reads into one reused buffer, no stream machinery,
// so re-verifying a warm cache costs little more than the hash itself.
import { createHash } from "node:crypto";
import { open } from "node:fs/promises";
import type { ChecksumAlgorithm } from "../catalog/checksums.js";

const CHUNK = 4 * 1024 * 1024;

export interface FileHash {
  /** base64 digest (the SRI form's payload) */
  digest: string;
  size: number;
  /** Inode of the file that was hashed (to tell it from a file renamed into its place since). */
  ino: number;
}

export async function hashFile(file: string, algorithm: ChecksumAlgorithm, signal?: AbortSignal): Promise<FileHash> {
  const handle = await open(file, "r");
  try {
    const { ino } = await handle.stat();
    const hash = createHash(algorithm);
    const buffer = Buffer.allocUnsafe(CHUNK);
    let size = 0;
    for (;;) {
      signal?.throwIfAborted();
      const { bytesRead } = await handle.read(buffer, 0, CHUNK, null);
      if (bytesRead === 0) break;
      hash.update(bytesRead === CHUNK ? buffer : buffer.subarray(0, bytesRead));
      size += bytesRead;
    }
    return { digest: hash.digest("base64"), size, ino };
  } finally {
    await handle.close();
  }
}
