// The signing key a user gives build (a PEM private key: a path, or for the environment
// variable the PEM text itself) and the public key verify-image checks with. Ed25519 or ECDSA
// P-256 with SHA-256; ECDSA signatures are written DER-encoded (what cosign and in-toto's
// tooling write) and read in DER or IEEE-P1363 (r‖s, what the DSSE spec's test vector uses).
// The keyid is the sha256 (hex) of the public key's SubjectPublicKeyInfo DER. Key material never
// appears in a message: errors name the path or "the PEM text", and the key's type.
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import { readFile } from "node:fs/promises";
import { UsageError } from "../errors/index.js";

export type KeyAlgorithm = "ed25519" | "ecdsa-p256";

export const SIGNING_KEY_ENV = "PODPLANE_IMAGES_SIGNING_KEY";

export interface Signer {
  keyid: string;
  algorithm: KeyAlgorithm;
  sign(data: Uint8Array): Buffer;
}

export interface Verifier {
  keyid: string;
  algorithm: KeyAlgorithm;
  verify(data: Uint8Array, signature: Uint8Array): boolean;
}

export function keyIdOf(publicKey: KeyObject): string {
  return createHash("sha256").update(publicKey.export({ type: "spki", format: "der" })).digest("hex");
}

function algorithmOf(key: KeyObject, what: string): KeyAlgorithm {
  if (key.asymmetricKeyType === "ed25519") return "ed25519";
  if (key.asymmetricKeyType === "ec") {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === "prime256v1" || curve === "P-256") return "ecdsa-p256";
    throw new UsageError(`${what}: an EC key on curve ${curve ?? "unknown"}; expected Ed25519 or ECDSA P-256`, "EKEYTYPE");
  }
  throw new UsageError(`${what}: a ${key.asymmetricKeyType ?? "symmetric"} key; expected Ed25519 or ECDSA P-256`, "EKEYTYPE");
}

const PEM_START = "-----BEGIN";

/** A value that holds PEM text rather than naming a file. */
function isPemText(value: string): boolean {
  return value.trimStart().startsWith(PEM_START);
}

async function readKeyText(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    throw new UsageError(`${what}: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, "EKEY", { cause: error });
  }
}

/** The private key's signer. `source` names where it came from (never the key itself). */
export function signerFromPem(pem: string, source: string): Signer {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: "pem" });
  } catch (error) {
    // OpenSSL's message can quote nothing secret, but keep to its code: a passphrase-protected key says so.
    const code = (error as { code?: string }).code ?? "";
    const hint = /PASSPHRASE|BAD_DECRYPT|INTERRUPTED_OR_CANCELLED/i.test(`${code} ${(error as Error).message}`) ? " (an encrypted key: give an unencrypted PKCS#8 or SEC1 PEM)" : "";
    throw new UsageError(`${source}: not a PEM private key${hint}`, "EKEY");
  }
  const algorithm = algorithmOf(key, source);
  const keyid = keyIdOf(createPublicKey(key));
  return {
    keyid,
    algorithm,
    sign: (data) => (algorithm === "ed25519" ? sign(null, data, key) : sign("sha256", data, { key, dsaEncoding: "der" })),
  };
}

/**
 * The signing key of a build: --signing-key FILE wins over $PODPLANE_IMAGES_SIGNING_KEY, which is
 * a path or the PEM text itself. Neither given: undefined (the provenance is written unsigned).
 */
export async function loadSigningKey(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<Signer | undefined> {
  if (flag !== undefined && flag !== "") return signerFromPem(await readKeyText(flag, "--signing-key"), `--signing-key ${flag}`);
  const value = env[SIGNING_KEY_ENV];
  if (value === undefined || value.trim() === "") return undefined;
  if (isPemText(value)) return signerFromPem(value, `${SIGNING_KEY_ENV} (the PEM text)`);
  return signerFromPem(await readKeyText(value, SIGNING_KEY_ENV), `${SIGNING_KEY_ENV}=${value}`);
}

/** A malformed signature is one that does not verify, not an error. */
function verifies(check: () => boolean): boolean {
  try {
    return check();
  } catch {
    return false;
  }
}

export function verifierFromPem(pem: string, source: string): Verifier {
  let key: KeyObject;
  try {
    // A private key is refused rather than quietly turned into its public half: it has no business on a verifier.
    if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) throw new UsageError(`${source}: a private key; give the public key (openssl pkey -pubout)`, "EKEY");
    key = createPublicKey({ key: pem, format: "pem" });
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`${source}: not a PEM public key`, "EKEY");
  }
  const algorithm = algorithmOf(key, source);
  return {
    keyid: keyIdOf(key),
    algorithm,
    verify: (data, signature) =>
      algorithm === "ed25519"
        ? verifies(() => verify(null, data, key, signature))
        : verifies(() => verify("sha256", data, { key, dsaEncoding: "der" }, signature)) || (signature.length === 64 && verifies(() => verify("sha256", data, { key, dsaEncoding: "ieee-p1363" }, signature))),
  };
}

export async function loadPublicKey(file: string): Promise<Verifier> {
  return verifierFromPem(await readKeyText(file, "--key"), `--key ${file}`);
}
