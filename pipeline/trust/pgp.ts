// PGP signatures checked with gpgv against a keyring pinned in the repo (trust/<name>/*.asc),
// never against the user's keyring: the armored keys are decoded here into a binary keyring in
// a fresh temp dir, which is also gpgv's home, and removed afterwards. gpgv prints the signed
// text itself (--output), so what we parse is exactly what the signature covers, never text
// around the armor.
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import { UsageError, WorkError } from "../errors/index.js";

/** A trust root: the armored public keys in one directory of trust/. */
export interface PgpKeyring {
  /** Shown in messages and checks, e.g. `trust/debian`. */
  name: string;
  /** The OpenPGP packets of every key, concatenated (a binary keyring gpgv reads). */
  packets: Buffer;
  files: string[];
}

export interface PgpVerified {
  /** The signed text, as gpgv extracted it (dash-escaping undone). */
  text: string;
  /** Primary-key fingerprints of every good signature from a pinned key. */
  fingerprints: string[];
}

const BEGIN = /^-----BEGIN PGP PUBLIC KEY BLOCK-----\s*$/;
const END = /^-----END PGP PUBLIC KEY BLOCK-----\s*$/;

/** CRC-24 of RFC 4880 §6.1, the armor checksum. */
function crc24(bytes: Buffer): number {
  let crc = 0xb704ce;
  for (const byte of bytes) {
    crc ^= byte << 16;
    for (let i = 0; i < 8; i++) {
      crc <<= 1;
      if (crc & 0x1000000) crc ^= 0x1864cfb;
    }
  }
  return crc & 0xffffff;
}

/**
 * The binary packets of every public-key block in an armored text. Text outside the blocks (an
 * upstream keyring's `pub ...` listing) is ignored; a block with a bad checksum is an error, so a
 * damaged key file is named instead of failing later as "unknown key".
 */
export function dearmorPublicKeys(text: string, source: string): Buffer[] {
  const blocks: Buffer[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    if (!BEGIN.test(lines[i] ?? "")) continue;
    i++;
    while (i < lines.length && (lines[i] ?? "").trim() !== "") i++; // armor headers (Comment:, Version:)
    const body: string[] = [];
    let checksum: string | undefined;
    for (i++; i < lines.length && !END.test(lines[i] ?? ""); i++) {
      const line = (lines[i] ?? "").trim();
      if (line.startsWith("=") && line.length === 5) checksum = line.slice(1);
      else if (line !== "") body.push(line);
    }
    if (i >= lines.length) throw new UsageError(`${source}: a public key block has no END line`, "ETRUSTROOT");
    const packets = Buffer.from(body.join(""), "base64");
    if (packets.length === 0) throw new UsageError(`${source}: an empty public key block`, "ETRUSTROOT");
    if (checksum !== undefined) {
      const expected = Buffer.from(checksum, "base64").readUIntBE(0, 3);
      if (crc24(packets) !== expected) throw new UsageError(`${source}: a public key block fails its armor checksum (damaged copy?)`, "ETRUSTROOT");
    }
    blocks.push(packets);
  }
  return blocks;
}

/** The keyring of `trust/<name>/` (every `*.asc` file); a usage error when there is none. */
export async function loadKeyring(trustDir: string, name: string): Promise<PgpKeyring> {
  const dir = path.join(trustDir, name);
  const label = `${path.basename(trustDir)}/${name}`;
  let entries: string[];
  try {
    entries = (await readdir(dir)).filter((file) => file.endsWith(".asc")).sort();
  } catch (error) {
    throw new UsageError(`trust root ${dir} cannot be read (${(error as Error).message}); it holds the armored keys that sign ${name}`, "ETRUSTROOT", { cause: error });
  }
  const packets: Buffer[] = [];
  for (const file of entries) packets.push(...dearmorPublicKeys(await readFile(path.join(dir, file), "utf8"), path.join(dir, file)));
  if (packets.length === 0) throw new UsageError(`trust root ${dir} holds no armored public key (*.asc)`, "ETRUSTROOT");
  return { name: label, packets: Buffer.concat(packets), files: entries.map((file) => path.join(dir, file)) };
}

interface SignatureStatus {
  keyId: string;
  good: boolean;
  bad: boolean;
  /** EXPSIG / EXPKEYSIG / REVKEYSIG: a real signature by a key that no longer counts. */
  invalid: string | undefined;
  missingKey: boolean;
  fingerprint: string | undefined;
}

/** gpgv's --status-fd lines, one record per signature (NEWSIG starts one). */
export function parseGpgvStatus(status: string): SignatureStatus[] {
  const signatures: SignatureStatus[] = [];
  let current: SignatureStatus | undefined;
  const open = (): SignatureStatus => {
    current ??= { keyId: "", good: false, bad: false, invalid: undefined, missingKey: false, fingerprint: undefined };
    if (!signatures.includes(current)) signatures.push(current);
    return current;
  };
  for (const line of status.split("\n")) {
    const [tag, ...args] = line.replace(/^\[GNUPG:\] /, "").split(" ");
    if (!line.startsWith("[GNUPG:] ")) continue;
    switch (tag) {
      case "NEWSIG":
        current = undefined;
        open();
        break;
      case "GOODSIG":
        Object.assign(open(), { good: true, keyId: args[0] ?? "" });
        break;
      case "BADSIG":
        Object.assign(open(), { bad: true, keyId: args[0] ?? "" });
        break;
      case "EXPSIG":
      case "EXPKEYSIG":
      case "REVKEYSIG":
        Object.assign(open(), { invalid: tag, keyId: args[0] ?? "" });
        break;
      case "ERRSIG": {
        // rc 9: no public key for this signature
        const sig = open();
        sig.keyId = args[0] ?? "";
        if (args[5] === "9") sig.missingKey = true;
        break;
      }
      case "NO_PUBKEY":
        Object.assign(open(), { missingKey: true, keyId: args[0] ?? "" });
        break;
      case "VALIDSIG":
        // the last field is the primary key's fingerprint (the signing subkey's is the first)
        open().fingerprint = args[9] ?? args[0];
        break;
    }
  }
  return signatures;
}

/**
 * Why `text` is not exactly one clear-signed message, or undefined. gpgv would verify each of
 * several concatenated messages and print all their texts, so an unsigned (or foreign-signed)
 * second message could smuggle lines into what we parse; text around the armor is not covered
 * by any signature either. apt refuses both; so do we.
 */
export function clearSignedShapeProblem(text: string): string | undefined {
  const lines = text.split(/\r?\n/).map((line) => line.trimEnd());
  const begins = lines.flatMap((line, i) => (line === "-----BEGIN PGP SIGNED MESSAGE-----" ? [i] : []));
  if (begins.length !== 1) return begins.length === 0 ? "not a PGP clear-signed message" : `${begins.length} clear-signed messages in one file`;
  const end = lines.lastIndexOf("-----END PGP SIGNATURE-----");
  if (end < 0) return "the signature block has no END line";
  if (lines.slice(0, begins[0]).some((line) => line !== "") || lines.slice(end + 1).some((line) => line !== "")) return "text outside the signed message";
  return undefined;
}

function signatureError(code: string, label: string, source: string, keyring: PgpKeyring, why: string): WorkError {
  return new WorkError(code, `${label}: signature check of ${source} failed: ${why}`, { label, source, check: "signature", trustRoot: keyring.name });
}

/**
 * Verifies a PGP clear-signed message against `keyring` and returns the signed text. Accepted
 * when at least one signature is good, valid and by a pinned key, and none is bad; signatures by
 * keys we do not pin are ignored (Debian signs with the previous release's key as well), as apt does.
 */
export async function verifyClearSigned(message: Buffer | string, keyring: PgpKeyring, what: { label: string; source: string }): Promise<PgpVerified> {
  const shape = clearSignedShapeProblem(Buffer.isBuffer(message) ? message.toString("utf8") : message);
  if (shape) {
    throw new WorkError(shape.startsWith("not a") ? "ENOSIGNATURE" : "EBADSIGNATURE", `${what.label}: signature check of ${what.source} failed: ${shape}`, { label: what.label, source: what.source, check: "signature", trustRoot: keyring.name });
  }
  const dir = await mkdtemp(path.join(tmpdir(), "pp-gpgv-"));
  try {
    const keyringFile = path.join(dir, "pinned.gpg");
    // No extension on the input: gpgv would look for a detached-signature data file next to a .asc/.sig.
    const input = path.join(dir, "message");
    const output = path.join(dir, "signed-text");
    await writeFile(keyringFile, keyring.packets);
    await writeFile(input, message);
    const result = await execa("gpgv", ["--homedir", dir, "--keyring", keyringFile, "--status-fd", "1", "--output", output, input], {
      reject: false,
      env: { GNUPGHOME: dir, LC_ALL: "C" },
      stripFinalNewline: false,
    });
    if (result.failed && result.exitCode === undefined) {
      // not started at all (ENOENT): a missing tool, said as such
      throw new WorkError("EGPGV", `${what.label}: cannot run gpgv to check ${what.source} (${result.shortMessage}); install it: apt-get install gpgv`, { label: what.label });
    }
    const status = String(result.stdout);
    if ((status.match(/^\[GNUPG:\] PLAINTEXT /gm) ?? []).length > 1) {
      throw signatureError("EBADSIGNATURE", what.label, what.source, keyring, "more than one signed text in one file");
    }
    const signatures = parseGpgvStatus(status);
    const bad = signatures.find((s) => s.bad);
    if (bad) throw signatureError("EBADSIGNATURE", what.label, what.source, keyring, `BAD signature by key ${bad.keyId} (the signed text was changed, or the signature does not belong to it)`);
    const good = signatures.filter((s) => s.good && !s.invalid && s.fingerprint);
    if (good.length === 0) {
      const invalid = signatures.find((s) => s.invalid);
      if (invalid) throw signatureError("EBADSIGNATURE", what.label, what.source, keyring, `the signature by key ${invalid.keyId} does not count (${invalid.invalid}: expired or revoked)`);
      const unknown = signatures.filter((s) => s.missingKey).map((s) => s.keyId);
      if (unknown.length > 0) {
        throw signatureError("EUNKNOWNKEY", what.label, what.source, keyring, `signed only by key ${unknown.join(", ")}, which is not in ${keyring.name} (${keyring.files.map((f) => path.basename(f)).join(", ")})`);
      }
      const said = String(result.stderr).split("\n").filter(Boolean).slice(-2).join("; ");
      throw signatureError("ENOSIGNATURE", what.label, what.source, keyring, `no valid PGP signature found${said ? ` (gpgv: ${said})` : ""}`);
    }
    const text = await readFile(output, "utf8");
    return { text, fingerprints: [...new Set(good.map((s) => s.fingerprint ?? ""))] };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
