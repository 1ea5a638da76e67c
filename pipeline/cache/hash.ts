// Hashing files on disk for re-verification. Re-hashing a warm cache is the main cost of every
// run, so files are hashed on a small pool of worker threads (large sequential reads into one
// reused buffer, no stream machinery) and several files are hashed at once on a multi-core
// host. The main thread only waits for the results.
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { ChecksumAlgorithm } from "../catalog/checksums.js";

export interface FileHash {
  /** base64 digest (the SRI form's payload) */
  digest: string;
  size: number;
  /** Inode of the file that was hashed (to tell it from a file renamed into its place since). */
  ino: number;
}

// CommonJS source of each worker (inline, so it runs the same from dist/ and from TypeScript
// under vitest). It answers {id, file, algorithm} with {id, digest, size, ino} or {id, error}.
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { openSync, readSync, fstatSync, closeSync } = require("node:fs");
const { createHash } = require("node:crypto");
const CHUNK = 4 * 1024 * 1024;
const buffer = Buffer.allocUnsafe(CHUNK);
parentPort.on("message", ({ id, file, algorithm }) => {
  let fd;
  try {
    fd = openSync(file, "r");
    const { ino } = fstatSync(fd);
    const hash = createHash(algorithm);
    let size = 0;
    for (let n = readSync(fd, buffer, 0, CHUNK, null); n > 0; n = readSync(fd, buffer, 0, CHUNK, null)) {
      hash.update(n === CHUNK ? buffer : buffer.subarray(0, n));
      size += n;
    }
    parentPort.postMessage({ id, digest: hash.digest("base64"), size, ino });
  } catch (error) {
    parentPort.postMessage({ id, error: { message: error.message, code: error.code } });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
});
`;

interface Job {
  id: number;
  file: string;
  algorithm: ChecksumAlgorithm;
  resolve: (hash: FileHash) => void;
  reject: (error: Error) => void;
}

type Reply = { id: number; digest: string; size: number; ino: number } | { id: number; error: { message: string; code?: string } };

class HashPool {
  private readonly idle: Worker[] = [];
  private readonly busy = new Map<Worker, Job>();
  private readonly queue: Job[] = [];
  private workers = 0;
  private nextId = 0;

  constructor(private readonly size: number) {}

  hash(file: string, algorithm: ChecksumAlgorithm): Promise<FileHash> {
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, file, algorithm, resolve, reject });
      this.pump();
    });
  }

  private spawn(): Worker {
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    this.workers++;
    worker.on("message", (reply: Reply) => {
      const job = this.busy.get(worker);
      this.busy.delete(worker);
      worker.unref(); // an idle worker must not keep the process alive
      this.idle.push(worker);
      if (job) {
        if ("error" in reply) job.reject(Object.assign(new Error(`${job.file}: ${reply.error.message}`), { code: reply.error.code }));
        else job.resolve({ digest: reply.digest, size: reply.size, ino: reply.ino });
      }
      this.pump();
    });
    worker.on("error", (error) => {
      const job = this.busy.get(worker);
      this.busy.delete(worker);
      this.workers--;
      job?.reject(error);
      this.pump();
    });
    return worker;
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const worker = this.idle.pop() ?? (this.workers < this.size ? this.spawn() : undefined);
      if (!worker) return;
      const job = this.queue.shift();
      if (!job) return;
      this.busy.set(worker, job);
      worker.ref();
      worker.postMessage({ id: job.id, file: job.file, algorithm: job.algorithm });
    }
  }
}

let pool: HashPool | undefined;

/** Threads that hash at once: one per core, at most 4 (the reads are sequential per file). */
export function hashThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

export async function hashFile(file: string, algorithm: ChecksumAlgorithm, signal?: AbortSignal): Promise<FileHash> {
  signal?.throwIfAborted();
  pool ??= new HashPool(hashThreads());
  return await pool.hash(file, algorithm);
}
