// The signing key of a build and the public key of verify-image: where each comes from, which
// types are taken, and that a refusal names the source and the type but never the key.
import { generateKeyPairSync } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { UsageError } from "../../pipeline/errors/index.js";
import { loadPublicKey, loadSigningKey, SIGNING_KEY_ENV } from "../../pipeline/provenance/keys.js";
import { tempDir } from "../helpers/temp-dir.js";
import { writeKeyPair } from "./fixtures.js";

async function refusal(work: Promise<unknown>): Promise<UsageError> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UsageError);
  return error as UsageError;
}

describe("loadSigningKey", () => {
  it("takes --signing-key FILE over the environment; the environment as a path or as PEM text; nothing → unsigned", async () => {
    const dir = await tempDir("keys-");
    const ed = await writeKeyPair(dir, "ed25519");
    const ec = await writeKeyPair(dir, "ecdsa-p256");
    const fromFlag = await loadSigningKey(ed.privateKey, { [SIGNING_KEY_ENV]: ec.privateKey });
    expect(fromFlag?.algorithm).toBe("ed25519");
    const fromEnvPath = await loadSigningKey(undefined, { [SIGNING_KEY_ENV]: ec.privateKey });
    expect(fromEnvPath?.algorithm).toBe("ecdsa-p256");
    const fromEnvText = await loadSigningKey(undefined, { [SIGNING_KEY_ENV]: ec.privatePem });
    expect(fromEnvText?.keyid).toBe(fromEnvPath?.keyid);
    expect(await loadSigningKey(undefined, {})).toBeUndefined();
    expect(await loadSigningKey(undefined, { [SIGNING_KEY_ENV]: "  " })).toBeUndefined();
  });

  it("refuses an RSA key, an EC key on another curve, garbage and a missing file, naming the source and never the key", async () => {
    const dir = await tempDir("keys-bad-");
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const p384 = generateKeyPairSync("ec", { namedCurve: "P-384" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    await writeFile(path.join(dir, "rsa.key"), rsa);
    const e1 = await refusal(loadSigningKey(path.join(dir, "rsa.key"), {}));
    expect(e1.message).toBe(`--signing-key ${path.join(dir, "rsa.key")}: a rsa key; expected Ed25519 or ECDSA P-256`);
    const e2 = await refusal(loadSigningKey(undefined, { [SIGNING_KEY_ENV]: p384 }));
    expect(e2.message).toBe(`${SIGNING_KEY_ENV} (the PEM text): an EC key on curve secp384r1; expected Ed25519 or ECDSA P-256`);
    const broken = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n-----END PRIVATE KEY-----\n";
    const e3 = await refusal(loadSigningKey(undefined, { [SIGNING_KEY_ENV]: broken }));
    expect(e3.message).toBe(`${SIGNING_KEY_ENV} (the PEM text): not a PEM private key`);
    const e4 = await refusal(loadSigningKey(path.join(dir, "missing.key"), {}));
    expect(e4.message).toBe(`--signing-key: cannot read ${path.join(dir, "missing.key")}: ENOENT`);
    for (const e of [e1, e2, e3, e4]) expect(e.message).not.toContain("PRIVATE KEY");
  });

  it("says so for an encrypted key", async () => {
    const dir = await tempDir("keys-enc-");
    const pem = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: "secret" }).toString();
    await writeFile(path.join(dir, "enc.key"), pem);
    const e = await refusal(loadSigningKey(path.join(dir, "enc.key"), {}));
    expect(e.message).toMatch(/not a PEM private key \(an encrypted key: give an unencrypted PKCS#8 or SEC1 PEM\)$/);
  });
});

describe("loadPublicKey", () => {
  it("reads a PEM public key; refuses a private key, garbage and a missing file (exit 2)", async () => {
    const dir = await tempDir("pub-");
    const ed = await writeKeyPair(dir, "ed25519");
    expect((await loadPublicKey(ed.publicKey)).algorithm).toBe("ed25519");
    expect((await refusal(loadPublicKey(ed.privateKey))).message).toBe(`--key ${ed.privateKey}: a private key; give the public key (openssl pkey -pubout)`);
    await writeFile(path.join(dir, "junk.pub"), "not a key");
    expect((await refusal(loadPublicKey(path.join(dir, "junk.pub")))).message).toBe(`--key ${path.join(dir, "junk.pub")}: not a PEM public key`);
    expect((await refusal(loadPublicKey(path.join(dir, "none.pub")))).code).toBe("EKEY");
  });
});
