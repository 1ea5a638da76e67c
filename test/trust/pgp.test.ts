import { readFile, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UsageError, WorkError } from "../../pipeline/errors/index.js";
import { dearmorPublicKeys, loadKeyring, parseGpgvStatus, verifyClearSigned } from "../../pipeline/trust/pgp.js";
import { REPO, tempDir } from "../fetch/helpers.js";
import { createSigner, type TestKey, type TestSigner } from "./pgp-fixtures.js";

let signer: TestSigner;
let archive: TestKey;
let other: TestKey;

beforeAll(async () => {
  signer = await createSigner();
  archive = await signer.generate("Test Archive Key <archive@example.test>");
  other = await signer.generate("Someone Else <else@example.test>");
});
afterAll(async () => {
  await signer.close();
});

async function keyring(keys: TestKey[] = [archive]) {
  const dir = await signer.trustRoot(await tempDir("pp-trust-"), "test", keys);
  return loadKeyring(dir, "test");
}

const what = { label: "demo 1.0 amd64", source: "http://127.0.0.1/demo.sha256sum" };

describe("the pinned trust roots in trust/", () => {
  it("hold intact armored keys whose fingerprints trust/README.md names", async () => {
    const readme = await readFile(path.join(REPO, "trust", "README.md"), "utf8");
    const home = await tempDir("pp-gpg-show-"); // never a directory of trust/: gpg writes into its home
    for (const name of ["debian", "fluent-bit", "runc"]) {
      const ring = await loadKeyring(path.join(REPO, "trust"), name);
      expect(ring.packets.length, name).toBeGreaterThan(100);
      for (const file of ring.files) {
        const shown = await execa("gpg", ["--homedir", home, "--show-keys", "--with-colons", file], { env: { LC_ALL: "C" }, reject: false });
        // the first fpr after each pub line (rvk lines may come between)
        const primary = shown.stdout.split(/^pub:/m).slice(1).map((key) => /^fpr:+([0-9A-F]{40}):/m.exec(key)?.[1] ?? "");
        expect(primary.length, file).toBeGreaterThan(0);
        for (const fingerprint of primary) expect(readme.replace(/ /g, ""), `${file}: ${fingerprint}`).toContain(fingerprint);
      }
    }
    expect((await readdir(path.join(REPO, "trust", "debian"))).sort()).toEqual(["debian-archive-trixie-automatic.asc", "debian-archive-trixie-stable.asc"]);
  });

  it("names a damaged key file instead of failing later as an unknown key", async () => {
    const armored = archive.armored.split("\n");
    const body = armored.findIndex((line) => line.startsWith("mDME"));
    armored[body] = `${(armored[body] ?? "").slice(0, 10)}A${(armored[body] ?? "").slice(11)}`;
    expect(() => dearmorPublicKeys(armored.join("\n"), "trust/x/key.asc")).toThrow(/trust\/x\/key\.asc: a public key block fails its armor checksum/);
    const dir = await tempDir("pp-trust-");
    await expect(loadKeyring(dir, "missing")).rejects.toBeInstanceOf(UsageError);
    await writeFile(path.join(dir, "empty.asc"), "no key here\n");
    await expect(loadKeyring(path.dirname(dir), path.basename(dir))).rejects.toThrow(/holds no armored public key/);
  });
});

describe("verifyClearSigned", () => {
  it("returns exactly the signed text and the signing key's fingerprint", async () => {
    const text = "abc  runc.amd64\n- dashed line\n";
    const signed = await signer.clearsign(text, [archive]);
    const verified = await verifyClearSigned(signed, await keyring(), what);
    expect(verified.text).toBe(text);
    expect(verified.fingerprints).toEqual([archive.fingerprint]);
  });

  it("refuses text outside the signed message and a second message appended (it would be parsed but is not signed by a pinned key)", async () => {
    const signed = await signer.clearsign("abc  runc.amd64\n", [archive]);
    const ring = await keyring();
    await expect(verifyClearSigned(`${"f".repeat(64)}  runc.amd64\n${signed}`, ring, what)).rejects.toMatchObject({ code: "EBADSIGNATURE", message: expect.stringContaining("text outside the signed message") as unknown });
    const smuggled = `${signed}${await signer.clearsign(`${"f".repeat(64)}  runc.amd64\n`, [other])}`;
    await expect(verifyClearSigned(smuggled, ring, what)).rejects.toMatchObject({ code: "EBADSIGNATURE", message: expect.stringContaining("2 clear-signed messages in one file") as unknown });
  });

  it("refuses a changed text as a bad signature", async () => {
    const signed = await signer.clearsign("aaaa  runc.amd64\n", [archive]);
    const error = (await verifyClearSigned(signed.replace("aaaa", "bbbb"), await keyring(), what).catch((e: unknown) => e)) as WorkError;
    expect(error).toBeInstanceOf(WorkError);
    expect(error.code).toBe("EBADSIGNATURE");
    expect(error.message).toMatch(/^demo 1\.0 amd64: signature check of http:\/\/127\.0\.0\.1\/demo\.sha256sum failed: BAD signature by key/);
  });

  it("refuses a signature by a key that is not pinned, naming the key and the trust root", async () => {
    const signed = await signer.clearsign("x\n", [other]);
    const error = (await verifyClearSigned(signed, await keyring(), what).catch((e: unknown) => e)) as WorkError;
    expect(error.code).toBe("EUNKNOWNKEY");
    expect(error.message).toContain(other.fingerprint.slice(-16));
    expect(error.message).toMatch(/which is not in .*\/test \(key\.asc\)/);
  });

  it("accepts a message also signed by an unpinned key (Debian signs with two releases' keys) and refuses an unsigned one", async () => {
    const both = await signer.clearsign("y\n", [other, archive]);
    expect((await verifyClearSigned(both, await keyring(), what)).fingerprints).toEqual([archive.fingerprint]);
    await expect(verifyClearSigned("just text\n", await keyring(), what)).rejects.toMatchObject({ code: "ENOSIGNATURE" });
  });

  it("reads gpgv's status lines per signature", () => {
    const status = [
      "[GNUPG:] NEWSIG",
      "[GNUPG:] ERRSIG 7BE7DEFF272F8A8D 22 8 01 1796056185 9 E947654D796C6AF578E045447BE7DEFF272F8A8D",
      "[GNUPG:] NO_PUBKEY 7BE7DEFF272F8A8D",
      "[GNUPG:] NEWSIG",
      "[GNUPG:] EXPKEYSIG E35840254F53DF5F Test",
      "[GNUPG:] VALIDSIG 1111111111111111111111111111111111111111 2026-11-30 1 0 4 0 22 8 01 611D18E38CBE1FB95ACF277BE35840254F53DF5F",
    ].join("\n");
    expect(parseGpgvStatus(status)).toEqual([
      { keyId: "7BE7DEFF272F8A8D", good: false, bad: false, invalid: undefined, missingKey: true, fingerprint: undefined },
      { keyId: "E35840254F53DF5F", good: false, bad: false, invalid: "EXPKEYSIG", missingKey: false, fingerprint: "611D18E38CBE1FB95ACF277BE35840254F53DF5F" },
    ]);
  });
});
