// Parsers for the checksum files upstream projects publish next to their releases. Four
// formats exist (DESIGN.md): a bare hex digest; `hex  name` lines (sha256sum text mode);
// `hex *name` lines (sha256sum binary mode); and `hex  name` lines inside a PGP clear-signed
// message. Each parser returns the lower-case hex digest for one file name, or throws.
import { WorkError } from "../errors/index.js";

export const CHECKSUM_FORMATS = ["hex", "hex-name", "hex-star-name", "pgp-hex-name"] as const;
export type ChecksumFormat = (typeof CHECKSUM_FORMATS)[number];
export type ChecksumAlgorithm = "sha256" | "sha512";

const HEX_LENGTH: Record<ChecksumAlgorithm, number> = { sha256: 64, sha512: 128 };

export interface ChecksumQuery {
  format: ChecksumFormat;
  algorithm: ChecksumAlgorithm;
  /** The artifact's upstream file name (the last segment of its URL). */
  fileName: string;
  /** Where the checksum file came from, for messages. */
  source: string;
}

function badChecksumFile(query: ChecksumQuery, what: string): WorkError {
  return new WorkError("ECHECKSUMFILE", `${query.source}: ${what}`, { source: query.source, fileName: query.fileName, format: query.format });
}

function isHexDigest(value: string, algorithm: ChecksumAlgorithm): boolean {
  return value.length === HEX_LENGTH[algorithm] && /^[0-9a-fA-F]+$/.test(value);
}

/** `<hex>` alone (optionally followed by whitespace): the k8s `.sha256` files. */
function parseBareHex(text: string, query: ChecksumQuery): string {
  const token = text.trim().split(/\s+/)[0] ?? "";
  if (!isHexDigest(token, query.algorithm)) {
    throw badChecksumFile(query, `expected a bare ${query.algorithm} hex digest, found ${JSON.stringify(text.trim().slice(0, 80))}`);
  }
  return token.toLowerCase();
}

/** Strips a leading `./` or directory so `./bin/x` and `x` name the same file. */
function baseName(name: string): string {
  const trimmed = name.trim();
  return trimmed.slice(trimmed.lastIndexOf("/") + 1);
}

/** `hex  name` or `hex *name` lines (coreutils sha*sum); blank lines and `#` comments are ignored. */
function parseSumLines(text: string, query: ChecksumQuery, marker: " " | "*"): string {
  const found: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([0-9a-fA-F]+)\s([ *])(.+)$/.exec(line);
    if (!match) continue;
    const [, hex = "", mode, name = ""] = match;
    found.push(baseName(name));
    if (baseName(name) !== query.fileName) continue;
    if (!isHexDigest(hex, query.algorithm)) {
      throw badChecksumFile(query, `the line for ${query.fileName} holds no ${query.algorithm} digest: ${JSON.stringify(line)}`);
    }
    // Both modes name the same bytes; the marker only says how the file was read. Accept
    // either, but a file declared binary-mode must at least use it for the line we take.
    if (marker === "*" && mode !== "*") {
      throw badChecksumFile(query, `expected "hex *name" lines, found ${JSON.stringify(line)}`);
    }
    return hex.toLowerCase();
  }
  const listed = found.length > 0 ? `it lists ${found.slice(0, 6).join(", ")}${found.length > 6 ? ", ..." : ""}` : "it holds no checksum lines";
  throw badChecksumFile(query, `no checksum for ${query.fileName}; ${listed}`);
}

const PGP_BEGIN = "-----BEGIN PGP SIGNED MESSAGE-----";
const PGP_SIGNATURE = "-----BEGIN PGP SIGNATURE-----";

/**
 * The signed text of a PGP clear-signed message (RFC 4880 §7): after the armor header line,
 * the `Hash:` headers and one blank line, up to the signature block, with dash-escaping undone.
 * The signature itself is not checked here: `pin` verifies it with gpgv against the keyring
 * pinned in trust/ (pipeline/trust/pgp.ts) and hands on only the text gpgv says is signed.
 */
export function clearSignedText(text: string, source = "checksum file"): string {
  const lines = text.split(/\r?\n/);
  const begin = lines.findIndex((line) => line.trim() === PGP_BEGIN);
  const end = lines.findIndex((line) => line.trim() === PGP_SIGNATURE);
  if (begin < 0 || end < begin) throw new WorkError("ECHECKSUMFILE", `${source}: expected a PGP clear-signed message, found no "${PGP_BEGIN}" ... "${PGP_SIGNATURE}" block`, { source });
  let i = begin + 1;
  while (i < end && (lines[i] ?? "").trim() !== "") i++; // armor headers (Hash: SHA256)
  return lines
    .slice(i + 1, end)
    .map((line) => (line.startsWith("- ") ? line.slice(2) : line))
    .join("\n");
}

/** The hex digest `query.fileName` has in the checksum file `text`. */
export function parseChecksumFile(text: string, query: ChecksumQuery): string {
  switch (query.format) {
    case "hex":
      return parseBareHex(text, query);
    case "hex-name":
      return parseSumLines(text, query, " ");
    case "hex-star-name":
      return parseSumLines(text, query, "*");
    case "pgp-hex-name":
      return parseSumLines(clearSignedText(text, query.source), query, " ");
  }
}
