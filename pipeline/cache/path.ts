// Path math of the content-addressed cache, cacache-style: the digest names the file.
//   <cache>/content-v2/<algorithm>/<hex 0-2>/<hex 2-4>/<rest of hex>
// Temporary files live in <cache>/tmp on the same filesystem, so a rename is atomic.
import path from "node:path";
import ssri from "ssri";
import type { ChecksumAlgorithm } from "../catalog/checksums.js";

export interface ParsedIntegrity {
  algorithm: ChecksumAlgorithm;
  hex: string;
  /** Canonical SRI form (one hash). */
  integrity: string;
}

/** The strongest sha256/sha512 hash of an SRI string; a TypeError when there is none. */
export function parseIntegrity(integrity: string): ParsedIntegrity {
  const parsed = ssri.parse(integrity, { single: false });
  for (const algorithm of ["sha512", "sha256"] as const) {
    const hash = parsed[algorithm]?.[0];
    if (hash) {
      return { algorithm, hex: Buffer.from(hash.digest, "base64").toString("hex"), integrity: `${algorithm}-${hash.digest}` };
    }
  }
  throw new TypeError(`not a sha256/sha512 SRI string: ${JSON.stringify(integrity)}`);
}

export function contentDir(cacheDir: string): string {
  return path.join(cacheDir, "content-v2");
}

export function tempDir(cacheDir: string): string {
  return path.join(cacheDir, "tmp");
}

/** Where the verified bytes of `integrity` live in the cache. */
export function contentPath(cacheDir: string, integrity: string): string {
  const { algorithm, hex } = parseIntegrity(integrity);
  return path.join(contentDir(cacheDir), algorithm, hex.slice(0, 2), hex.slice(2, 4), hex.slice(4));
}
