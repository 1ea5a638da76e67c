// Hashing files on disk for re-verification. Re-hashing a warm cache is the main cost of every
// run, so several files are hashed at once: one on the main thread (which is otherwise idle
// while fetch waits) and one on each worker thread, one worker per further core. Each hasher
// reads large sequential chunks into one reused buffer, without stream machinery. On a busy
// host the main thread keeps hashing while workers start up, so it is never slower than
// hashing on the main thread alone.
import { createHash } from "node:crypto";
import { open } from "node:fs/promises";
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

const CHUNK = 4 * 1024 * 1024;

// CommonJS source of each worker (inline, so it runs the same from dist/ and from TypeScript
// under vitest). It answers {id, file, algorithm} with {id, digest, size, ino} or {id, error}.
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { openSync, readSync, fstatSync, closeSync } = require("node:fs");
const { createHash } = require("node:crypto");
const CHUNK = ${CHUNK};
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

/** The main-thread hasher: async reads, hash updates in between. */
async function hashInThread(file: string, algorithm: ChecksumAlgorithm, buffer: Buffer): Promise<FileHash> {
  const handle = await open(file, "r");
  try {
    const { ino } = await handle.stat();
    const hash = createHash(algorithm);
    let size = 0;
    for (let n = (await handle.read(buffer, 0, CHUNK, null)).bytesRead; n > 0; n = (await handle.read(buffer, 0, CHUNK, null)).bytesRead) {
      hash.update(n === CHUNK ? buffer : buffer.subarray(0, n));
      size += n;
    }
    return { digest: hash.digest("base64"), size, ino };
  } finally {
    await handle.close();
  }
}

class HashPool {
  private mainBusy = false;
  private mainBuffer: Buffer | undefined;
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

  private runOnMain(job: Job): void {
    this.mainBusy = true;
    this.mainBuffer ??= Buffer.allocUnsafe(CHUNK);
    hashInThread(job.file, job.algorithm, this.mainBuffer)
      .then(job.resolve, job.reject)
      .finally(() => {
        this.mainBusy = false;
        this.pump();
      });
  }

  private pump(): void {
    while (this.queue.length > 0) {
      if (!this.mainBusy) {
        const job = this.queue.shift();
        if (job) this.runOnMain(job);
        continue;
      }
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

/** Files hashed at once: one per core (the main thread and the workers), at most 4. */
export function hashThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

export async function hashFile(file: string, algorithm: ChecksumAlgorithm, signal?: AbortSignal): Promise<FileHash> {
  signal?.throwIfAborted();
  pool ??= new HashPool(hashThreads() - 1);
  return await pool.hash(file, algorithm);
}
