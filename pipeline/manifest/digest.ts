// Podplane's manifests write digests as `sha256:<hex>`; ssri speaks SRI (`sha256-<base64>`).
// Convert at the edge so the file format stays as Podplane publishes it.

export type DigestAlgorithm = "sha256" | "sha512";

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };
const PODPLANE_DIGEST = /^(sha256|sha512):([0-9a-f]+)$/;

export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  hex: string;
}

/** Parses `sha256:<hex>`; returns undefined when it is not a well-formed Podplane digest. */
export function parseDigest(digest: string): ParsedDigest | undefined {
  const match = PODPLANE_DIGEST.exec(digest);
  if (!match) return undefined;
  const algorithm = match[1] as DigestAlgorithm;
  const hex = match[2] ?? "";
  if (hex.length !== HEX_LENGTH[algorithm]) return undefined;
  return { algorithm, hex };
}

export function isPodplaneDigest(digest: string): boolean {
  return parseDigest(digest) !== undefined;
}

/** `sha256:<hex>` → `sha256-<base64>` */
export function digestToIntegrity(digest: string): string {
  const parsed = parseDigest(digest);
  if (!parsed) throw new TypeError(`not a digest of the form sha256:<hex> or sha512:<hex>: ${JSON.stringify(digest)}`);
  return `${parsed.algorithm}-${Buffer.from(parsed.hex, "hex").toString("base64")}`;
}

/** `sha256-<base64>` → `sha256:<hex>` */
export function integrityToDigest(integrity: string): string {
  const match = /^(sha256|sha512)-([A-Za-z0-9+/]+={0,2})$/.exec(integrity.trim());
  if (!match) throw new TypeError(`not a single sha256/sha512 SRI string: ${JSON.stringify(integrity)}`);
  const hex = Buffer.from(match[2] ?? "", "base64").toString("hex");
  const digest = `${match[1]}:${hex}`;
  if (!isPodplaneDigest(digest)) throw new TypeError(`SRI digest has the wrong length: ${integrity}`);
  return digest;
}
