// verify-image through the CLI: a good image passes with either key type; a flipped byte in the
// qcow2, a forged statement, a wrong key, a dependency changed in the manifests each exit 1
// naming what did not match; usage problems exit 2.
import { open, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { fileSha256 } from "../../pipeline/image/file-digest.js";
import type { Envelope } from "../../pipeline/provenance/dsse.js";
import { signerFromPem } from "../../pipeline/provenance/keys.js";
import type { VerifyReport } from "../../pipeline/provenance/verify.js";
import { publishImage } from "../../pipeline/publish/index.js";
import { resetCliStateAfterEach, runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/temp-dir.js";
import { publishFixture, writeKeyPair } from "./fixtures.js";

resetCliStateAfterEach();

async function signedFixture(type: "ed25519" | "ecdsa-p256" = "ed25519", target: "qemu" | "aws" = "qemu") {
  const dir = await tempDir("verify-image-");
  const keys = await writeKeyPair(path.join(dir, "keys"), type);
  const published = await publishFixture(dir, { signer: signerFromPem(keys.privatePem, "test"), target });
  const verify = (...extra: string[]) => runCli("verify-image", published.record.name, "--key", keys.publicKey, "--out", published.out, "--manifests", published.manifests, ...extra);
  return { dir, keys, ...published, verify };
}

async function flipByte(file: string, offset: number): Promise<void> {
  const handle = await open(file, "r+");
  try {
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, offset);
    byte[0] = (byte[0] ?? 0) ^ 0x01;
    await handle.write(byte, 0, 1, offset);
  } finally {
    await handle.close();
  }
}

describe("verify-image", () => {
  for (const type of ["ed25519", "ecdsa-p256"] as const) {
    it(`passes on a good image signed with ${type} (by name and by qcow2 path)`, async () => {
      const f = await signedFixture(type);
      const byName = await f.verify();
      expect(byName.code, byName.stderr).toBe(0);
      expect(byName.stdout).toContain(`  ok signature: verifies with the ${type} key ${f.record.provenance?.keyid ?? ""}`);
      expect(byName.stdout).toContain(`  ok subject: ${f.record.name}.qcow2 ${f.record.qemu?.digest ?? ""} matches the file`);
      expect(byName.stdout).toMatch(/ {2}ok dependencies: \d+ pinned artifacts and images match /);
      expect(byName.stdout.trim().split("\n").at(-1)).toBe("provenance verified");
      const byPath = await runCli("verify-image", f.record.qemu?.path ?? "", "--key", f.keys.publicKey, "--out", f.out, "--manifests", f.manifests, "--json");
      expect(byPath.code).toBe(0);
      const report = JSON.parse(byPath.stdout) as VerifyReport;
      expect(report).toMatchObject({ ok: true, image: f.record.name, target: "qemu", signed: true, keyids: [f.record.provenance?.keyid] });
      expect(report.checks.map((c) => [c.name, c.status])).toEqual([
        ["statement", "ok"],
        ["signature", "ok"],
        ["subject", "ok"],
        ["dependencies", "ok"],
      ]);
    });
  }

  it("a flipped byte in the qcow2: exit 1, the subject named with both digests", async () => {
    const f = await signedFixture();
    const qcow2 = f.record.qemu?.path ?? "";
    await flipByte(qcow2, 1000);
    const now = await fileSha256(qcow2);
    const r = await f.verify();
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`  !! subject: ${f.record.name}.qcow2: the statement has ${f.record.qemu?.digest ?? ""}, the file ${qcow2} has ${now}`);
    expect(r.stdout).toContain("  ok signature:");
    expect(r.stderr).toBe(`verify-image: ${f.record.name}: subject did not match\n`);
  });

  it("a forged statement (payload changed, signature kept): exit 1 on the signature", async () => {
    const f = await signedFixture("ecdsa-p256");
    const envelope = JSON.parse(await readFile(f.statementPath, "utf8")) as Envelope;
    const statement = JSON.parse(Buffer.from(envelope.payload, "base64").toString()) as { subject: Array<{ digest: { sha256: string } }> };
    // Point the subject at other bytes, as someone passing off another image would.
    (statement.subject[0] as { digest: { sha256: string } }).digest.sha256 = "0".repeat(64);
    await writeFile(f.statementPath, `${JSON.stringify({ ...envelope, payload: Buffer.from(JSON.stringify(statement)).toString("base64") })}\n`);
    const r = await f.verify("--json");
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as VerifyReport;
    expect(report.ok).toBe(false);
    expect(report.checks.find((c) => c.name === "signature")).toMatchObject({ status: "failed", detail: expect.stringMatching(/^no signature verifies with the ecdsa-p256 key [0-9a-f]{64} \(signed by keyid [0-9a-f]{64}\): the statement or its signature was changed/) as string });
    expect(report.checks.find((c) => c.name === "subject")).toMatchObject({ status: "failed", expected: `sha256:${"0".repeat(64)}`, actual: f.record.qemu?.digest });
  });

  it("a wrong key: exit 1 on the signature; the rest still checked", async () => {
    const f = await signedFixture();
    const other = await writeKeyPair(path.join(f.dir, "other"), "ed25519");
    const r = await runCli("verify-image", f.record.name, "--key", other.publicKey, "--out", f.out, "--manifests", f.manifests);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/ {2}!! signature: no signature verifies with the ed25519 key [0-9a-f]{64}/);
    expect(r.stdout).toContain("  ok subject:");
    expect(r.stdout).toContain("provenance NOT verified: signature did not match");
  });

  it("a dependency digest changed in the manifests: exit 1 naming the dependency and both digests", async () => {
    const f = await signedFixture();
    const file = path.join(f.manifests, "knd.debian-13.amd64.json");
    const lock = JSON.parse(await readFile(file, "utf8")) as { vmconfig: { dependencies: Record<string, { digest: string }> } };
    const kubelet = lock.vmconfig.dependencies.kubelet as { digest: string };
    const was = kubelet.digest;
    kubelet.digest = `sha256:${"9".repeat(64)}`;
    await writeFile(file, JSON.stringify(lock, null, 2));
    const r = await f.verify();
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`  !! dependencies: 1 of the statement's dependencies differ from`);
    expect(r.stdout).toContain(`     artifact kubelet: statement ${was}, manifests sha256:${"9".repeat(64)}`);
  });

  it("aws: the AMIs images.json records must be the statement's; a changed AMI ID fails the subject", async () => {
    const f = await signedFixture("ed25519", "aws");
    const good = await f.verify();
    expect(good.code, good.stdout).toBe(0);
    expect(good.stdout).toContain(`  ok subject: ${f.record.name}.amis.json sha256:`);
    await publishImage(f.out, { ...f.record, amis: { ...f.record.amis, "us-east-1": "ami-0badbadbadbadbad0" } }, { allowUntested: true });
    const r = await f.verify();
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/!! subject: .*\.amis\.json: the statement has sha256:[0-9a-f]{64}, the AMIs images.json records \(eu-west-1:ami-0fedcba9876543210, us-east-1:ami-0badbadbadbadbad0\) has sha256:[0-9a-f]{64}/);
  });

  it("usage errors exit 2: an unknown image, an unreadable key, an unsigned statement with --key", async () => {
    const dir = await tempDir("verify-image-usage-");
    const keys = await writeKeyPair(path.join(dir, "keys"), "ed25519");
    const unsigned = await publishFixture(dir);
    const unknown = await runCli("verify-image", "podplane-knd-debian-13-amd64-ffffffffffff", "--key", keys.publicKey, "--out", unsigned.out);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain(`EUNKNOWNIMAGE: unknown image podplane-knd-debian-13-amd64-ffffffffffff: not in ${path.join(unsigned.out, "images.json")}`);
    const noKey = await runCli("verify-image", unsigned.record.name, "--key", path.join(dir, "nope.pub"), "--out", unsigned.out);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain(`EKEY: --key: cannot read ${path.join(dir, "nope.pub")}: ENOENT`);
    const r = await runCli("verify-image", unsigned.record.name, "--key", keys.publicKey, "--out", unsigned.out, "--manifests", unsigned.manifests);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`EUNSIGNED: ${unsigned.statementPath}: the statement is unsigned (the image was built without --signing-key)`);
    // Without --key an unsigned image's subject and dependencies are still checked, and the report says the signature was not.
    const noSig = await runCli("verify-image", unsigned.record.name, "--out", unsigned.out, "--manifests", unsigned.manifests);
    expect(noSig.code).toBe(0);
    expect(noSig.stdout).toContain("  -- signature: not checked: the statement is unsigned (and no --key given)");
  });

  it("a missing or garbled statement: exit 1 naming the file", async () => {
    const f = await signedFixture();
    await writeFile(f.statementPath, "{not json\n");
    const garbled = await f.verify();
    expect(garbled.code).toBe(1);
    expect(garbled.stdout).toContain(`  !! statement: ${f.statementPath}: not a DSSE envelope (not JSON)`);
  });
});
