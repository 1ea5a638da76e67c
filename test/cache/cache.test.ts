import { createHash, randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, stat, utimes, writeFile } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { checkEntry, contentPath, hashFile, parseIntegrity, readEntry, sweepStaleTemps, writeEntry } from "../../pipeline/cache/index.js";
import { WorkError } from "../../pipeline/errors/index.js";
import { digestToIntegrity } from "../../pipeline/manifest/index.js";
import { listFiles, tempDir } from "../fetch/helpers.js";

function sri(bytes: Buffer, algorithm: "sha256" | "sha512" = "sha256"): string {
  return `${algorithm}-${createHash(algorithm).update(bytes).digest("base64")}`;
}

/** A stream that yields `bytes` in pieces, then fails (a dropped connection). */
function failingStream(bytes: Buffer): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) {
        sent = true;
        this.push(bytes);
        return;
      }
      this.destroy(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }));
    },
  });
}

describe("content-addressed cache", () => {
  it("names entries by digest, cacache-style", () => {
    const hex = "7efa1780c73d9fb3a464002864e582eb2d15aa691e475eaae323093d08feae14";
    expect(contentPath("/c", digestToIntegrity(`sha256:${hex}`))).toBe(`/c/content-v2/sha256/7e/fa/${hex.slice(4)}`);
    expect(parseIntegrity(`sha256-AAAA sha512-${Buffer.alloc(64).toString("base64")}`).algorithm).toBe("sha512");
    expect(() => parseIntegrity("md5-abc")).toThrow(TypeError);
  });

  it("writes verified bytes, read-only, through a temp file that does not outlive the write", async () => {
    const cache = await tempDir("pp-cache-");
    const bytes = randomBytes(100_000);
    let seen = 0;
    const entry = await writeEntry(cache, Readable.from([bytes.subarray(0, 40_000), bytes.subarray(40_000)]), {
      integrity: sri(bytes, "sha512"),
      size: bytes.length,
      label: "x",
      onBytes: (n) => (seen += n),
    });
    expect(entry).toEqual({ path: contentPath(cache, sri(bytes, "sha512")), integrity: sri(bytes, "sha512"), size: 100_000 });
    expect(seen).toBe(100_000);
    expect((await stat(entry.path)).mode & 0o777).toBe(0o444);
    expect(await readFile(entry.path)).toEqual(bytes);
    expect(await listFiles(path.join(cache, "tmp"))).toEqual([]);
    expect(await readEntry(cache, sri(bytes, "sha512"), bytes.length)).toEqual({ status: "hit", path: entry.path, size: 100_000 });
  });

  it("computes the digest when none is expected (pin)", async () => {
    const cache = await tempDir("pp-cache-");
    const bytes = randomBytes(5000);
    const entry = await writeEntry(cache, Readable.from([bytes]), { algorithm: "sha256", label: "x" });
    expect(entry.integrity).toBe(sri(bytes));
    expect((await hashFile(entry.path, "sha256")).digest).toBe(sri(bytes).slice("sha256-".length));
  });

  it("refuses wrong bytes, a wrong size and a failing source, leaving no file at all", async () => {
    const cache = await tempDir("pp-cache-");
    const bytes = randomBytes(10_000);
    const other = randomBytes(10_000);
    const wrong = writeEntry(cache, Readable.from([other]), { integrity: sri(bytes), size: 10_000, label: "kubelet", url: "http://m/kubelet" });
    await expect(wrong).rejects.toMatchObject({ code: "EINTEGRITY", data: { expected: `sha256:${createHash("sha256").update(bytes).digest("hex")}` } });
    await expect(wrong).rejects.toThrow(/^kubelet: digest mismatch: expected sha256:[0-9a-f]{64}, found sha256:[0-9a-f]{64} \(from http:\/\/m\/kubelet\)$/);
    const short = writeEntry(cache, Readable.from([bytes.subarray(0, 9000)]), { integrity: sri(bytes), size: 10_000, label: "kubelet" });
    await expect(short).rejects.toBeInstanceOf(WorkError);
    await expect(short).rejects.toMatchObject({ code: "EBADSIZE" });
    await expect(writeEntry(cache, failingStream(bytes.subarray(0, 3000)), { integrity: sri(bytes), label: "kubelet" })).rejects.toMatchObject({ code: "ECONNRESET" });
    expect(await listFiles(cache)).toEqual([]);
  });

  it("an abort removes the temp file", async () => {
    const cache = await tempDir("pp-cache-");
    const controller = new AbortController();
    const endless = new Readable({
      read() {
        this.push(Buffer.alloc(1024));
      },
    });
    const pending = writeEntry(cache, endless, { integrity: sri(Buffer.alloc(1)), label: "x", signal: controller.signal, onBytes: () => controller.abort(new Error("stop")) });
    await expect(pending).rejects.toThrow("stop");
    expect(await listFiles(cache)).toEqual([]);
  });

  it("re-verifies on read and evicts a corrupt entry", async () => {
    const cache = await tempDir("pp-cache-");
    const bytes = randomBytes(20_000);
    const entry = await writeEntry(cache, Readable.from([bytes]), { integrity: sri(bytes), size: bytes.length, label: "x" });
    await chmod(entry.path, 0o644);
    await writeFile(entry.path, Buffer.concat([bytes.subarray(0, 19_999), Buffer.from([bytes[19_999]! ^ 1])]));
    const check = await checkEntry(cache, sri(bytes), bytes.length);
    expect(check).toMatchObject({ status: "corrupt", path: entry.path });
    expect(await listFiles(cache)).toHaveLength(1); // checkEntry never changes the cache
    expect(await readEntry(cache, sri(bytes), bytes.length)).toMatchObject({ status: "evicted" });
    expect(await listFiles(cache)).toEqual([]);
    expect(await readEntry(cache, sri(bytes), bytes.length)).toEqual({ status: "missing" });
    // a size mismatch alone is corrupt too
    const again = await writeEntry(cache, Readable.from([bytes]), { integrity: sri(bytes), label: "x" });
    expect(await checkEntry(cache, sri(bytes), 19_000)).toMatchObject({ status: "corrupt", reason: "size 20000, expected 19000", path: again.path });
  });

  it("sweeps abandoned temp files (a SIGKILLed writer) but not fresh ones", async () => {
    const cache = await tempDir("pp-cache-");
    await mkdir(path.join(cache, "tmp"));
    await writeFile(path.join(cache, "tmp", "old"), "x");
    await writeFile(path.join(cache, "tmp", "fresh"), "x");
    const dayAgo = new Date(Date.now() - 25 * 3600 * 1000);
    await utimes(path.join(cache, "tmp", "old"), dayAgo, dayAgo);
    expect(await sweepStaleTemps(cache)).toBe(1);
    expect(await listFiles(cache)).toEqual(["tmp/fresh"]);
  });
});
