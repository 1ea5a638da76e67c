// Writing into the cache: bytes stream through ssri's integrity check into a temp file that
// this process alone opened (flag "wx", a unique name), which is renamed into place only when
// digest and size match. Two processes sharing a cache therefore never see a partial entry:
// each writes its own temp file and the rename is atomic (the later rename replaces identical
// bytes). The temp file is removed in `finally`, so a failure or an abort leaves nothing behind.
import { randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";
import { chmod, mkdir, rename, rm } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import ssri from "ssri";
import { WorkError } from "../errors/index.js";
import { integrityToDigest } from "../manifest/digest.js";
import type { ChecksumAlgorithm } from "../catalog/checksums.js";
import { contentPath, parseIntegrity, tempDir } from "./path.js";

export interface WriteOptions {
  /** Expected SRI; when absent the digest is computed with `algorithm` (for `pin`). */
  integrity?: string | undefined;
  size?: number | undefined;
  algorithm?: ChecksumAlgorithm | undefined;
  /** Names the artifact in error messages: `kubelet (https://...)`. */
  label: string;
  url?: string | undefined;
  signal?: AbortSignal | undefined;
  onBytes?: ((bytes: number) => void) | undefined;
}

export interface WrittenEntry {
  path: string;
  integrity: string;
  size: number;
}

function asDigest(integrity: unknown): string {
  const text = String(integrity);
  try {
    return integrityToDigest(parseIntegrity(text).integrity);
  } catch {
    return text;
  }
}

/** ssri's EINTEGRITY/EBADSIZE as our WorkError naming the artifact and where it came from. */
function integrityError(error: unknown, options: WriteOptions): Error {
  const e = error as { code?: string; expected?: unknown; found?: unknown };
  const data = { label: options.label, url: options.url };
  if (e.code === "EINTEGRITY") {
    const expected = asDigest(e.expected);
    const found = asDigest(e.found);
    return new WorkError("EINTEGRITY", `${options.label}: digest mismatch: expected ${expected}, found ${found}${options.url ? ` (from ${options.url})` : ""}`, { ...data, expected, found }, { cause: error });
  }
  if (e.code === "EBADSIZE") {
    return new WorkError("EBADSIZE", `${options.label}: size mismatch: expected ${String(e.expected)} bytes, found ${String(e.found)}${options.url ? ` (from ${options.url})` : ""}`, { ...data, expected: e.expected, found: e.found }, { cause: error });
  }
  return error instanceof Error ? error : new Error(String(error));
}

/** Streams `source` into the cache; resolves with the verified entry. `source` is consumed or destroyed. */
export async function writeEntry(cacheDir: string, source: Readable, options: WriteOptions): Promise<WrittenEntry> {
  // Listen for a source error from the first synchronous moment: the connection can drop
  // while the temp directory is being created, before the pipes below are in place.
  let earlyError: unknown;
  const onEarlyError = (error: unknown) => {
    earlyError ??= error;
  };
  source.on("error", onEarlyError); // stays attached: a late error after we are done must not crash
  const tmp = path.join(tempDir(cacheDir), `${process.pid}-${randomUUID()}`);
  try {
    const algorithms = [options.integrity ? parseIntegrity(options.integrity).algorithm : (options.algorithm ?? "sha256")];
    await mkdir(path.dirname(tmp), { recursive: true });
    const checker = ssri.integrityStream({ integrity: options.integrity, size: options.size, algorithms });
    const out = createWriteStream(tmp, { flags: "wx", mode: 0o644, highWaterMark: 1024 * 1024 });
    let computed: string | undefined;
    let size = 0;
    checker.on("integrity", (sri: ssri.Integrity) => {
      computed = sri.toString();
    });
    checker.on("size", (n: number) => {
      size = n;
    });
    await new Promise<void>((resolve, reject) => {
      let failed = false;
      const fail = (error: unknown) => {
        if (failed) return;
        failed = true;
        source.unpipe();
        source.destroy();
        out.destroy();
        reject(integrityError(error, options));
      };
      const onAbort = () => fail(options.signal?.reason ?? new Error("aborted"));
      if (options.signal?.aborted) return onAbort();
      if (earlyError !== undefined) return fail(earlyError);
      options.signal?.addEventListener("abort", onAbort, { once: true });
      source.on("error", fail);
      checker.on("error", fail);
      out.on("error", fail);
      out.on("close", () => {
        options.signal?.removeEventListener("abort", onAbort);
        if (!failed) resolve();
      });
      if (options.onBytes) {
        const onBytes = options.onBytes;
        source.on("data", (chunk: Buffer) => onBytes(chunk.length));
      }
      source.pipe(checker).pipe(out);
    });
    if (!computed) throw new WorkError("EINTEGRITY", `${options.label}: no digest was computed`, { label: options.label });
    const integrity = parseIntegrity(computed).integrity;
    const target = contentPath(cacheDir, integrity);
    await mkdir(path.dirname(target), { recursive: true });
    await chmod(tmp, 0o444);
    await rename(tmp, target);
    return { path: target, integrity, size };
  } finally {
    if (!source.readableEnded) source.destroy(); // never leave a connection open on failure
    await rm(tmp, { force: true });
  }
}
