// The pinned Sigstore trust material, read from one directory (trust/sigstore by default; tests
// pass a directory holding a test CA): Fulcio roots and intermediates (*.pem), Rekor log keys
// (rekor*.pub) and the expected signer identities (identities.json).
import { createHash, createPublicKey, type KeyObject } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { PROJECT_ROOT } from "../cli/options.js";
import { loadTrustAnchors, type TrustAnchors } from "./x509-chain.js";

export const DEFAULT_SIGSTORE_TRUST_DIR = path.join(PROJECT_ROOT, "trust", "sigstore");

export interface ExpectedIdentity {
  name: string;
  /** The OIDC issuer Fulcio recorded, exactly. */
  issuer: string;
  /** A SAN value (email or URI), exactly. */
  subject?: string | undefined;
  /** Or an anchored regular expression over a SAN value. */
  subjectPattern?: RegExp | undefined;
}

export interface SigstoreTrust {
  dir: string;
  anchors: TrustAnchors;
  /** Rekor log keys by log id (hex SHA-256 of the key's SPKI DER). */
  rekorKeys: Map<string, KeyObject>;
  identities: Map<string, ExpectedIdentity>;
}

function parseIdentities(text: string, file: string): Map<string, ExpectedIdentity> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new Error(`${file}: not JSON (${error instanceof Error ? error.message : String(error)})`, { cause: error });
  }
  const list = (doc as { identities?: unknown }).identities;
  if (!list || typeof list !== "object") throw new Error(`${file}: expected an "identities" object`);
  const out = new Map<string, ExpectedIdentity>();
  for (const [name, raw] of Object.entries(list as Record<string, unknown>)) {
    const entry = raw as { issuer?: unknown; subject?: unknown; subjectPattern?: unknown };
    if (typeof entry.issuer !== "string" || entry.issuer === "") throw new Error(`${file}: identity ${name} has no "issuer"`);
    const hasSubject = typeof entry.subject === "string" && entry.subject !== "";
    const hasPattern = typeof entry.subjectPattern === "string" && entry.subjectPattern !== "";
    if (hasSubject === hasPattern) throw new Error(`${file}: identity ${name} needs exactly one of "subject" and "subjectPattern"`);
    let pattern: RegExp | undefined;
    if (hasPattern) {
      const source = entry.subjectPattern as string;
      if (!source.startsWith("^") || !source.endsWith("$")) throw new Error(`${file}: identity ${name}: subjectPattern must be anchored (^…$)`);
      pattern = new RegExp(source);
    }
    out.set(name, { name, issuer: entry.issuer, subject: hasSubject ? (entry.subject as string) : undefined, subjectPattern: pattern });
  }
  return out;
}

export function rekorLogId(key: KeyObject): string {
  return createHash("sha256").update(key.export({ type: "spki", format: "der" })).digest("hex");
}

export async function loadSigstoreTrust(dir: string = DEFAULT_SIGSTORE_TRUST_DIR): Promise<SigstoreTrust> {
  const anchors = await loadTrustAnchors(dir);
  const rekorKeys = new Map<string, KeyObject>();
  for (const file of (await readdir(dir)).filter((f) => /^rekor.*\.pub$/.test(f))) {
    const key = createPublicKey(await readFile(path.join(dir, file), "utf8"));
    rekorKeys.set(rekorLogId(key), key);
  }
  const identitiesFile = path.join(dir, "identities.json");
  const identities = parseIdentities(await readFile(identitiesFile, "utf8"), identitiesFile);
  return { dir, anchors, rekorKeys, identities };
}
