// Real cosign as the oracle: the same .sig/.cert fixtures that pin accepts or refuses go through
// `cosign verify-blob` (Debian unstable's static binary, unpacked by
// test/trust/sigstore-fetch-cosign.sh, never installed), and both must agree. Skipped, with the
// reason in the suite's name, when the binary is not there.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyDetachedSignature } from "../../pipeline/trust/sigstore-blob.js";
import { loadSigstoreTrust } from "../../pipeline/trust/sigstore-trust.js";
import { cosignFiles, GOOGLE, K8S_SIGNER, makeLeaf, makeTestSigstore, signBytes, type LeafOptions, type TestSigstore } from "./sigstore-fixtures.js";

const COSIGN = process.env.PODPLANE_COSIGN ?? path.join(process.env.PODPLANE_FIXTURE_CACHE ?? path.join(os.homedir(), ".cache", "podplane-images-fixtures"), "cosign", "usr", "bin", "cosign");
const present = existsSync(COSIGN);
const title = present ? `real cosign (${COSIGN}) agrees with pin's Sigstore checks` : `real cosign oracle SKIPPED: no cosign at ${COSIGN} (run test/trust/sigstore-fetch-cosign.sh, or set PODPLANE_COSIGN)`;

const MINUTE = 60_000;
let sigstore: TestSigstore;

interface Fixture {
  leaf: Partial<LeafOptions>;
  /** Sign these bytes instead of the blob. */
  signOther?: boolean;
}

async function cosignAccepts(blob: string, sig: string, cert: string): Promise<{ ok: boolean; output: string }> {
  const args = ["verify-blob", "--certificate", cert, "--certificate-chain", sigstore.chainFile, "--certificate-identity", K8S_SIGNER, "--certificate-oidc-issuer", GOOGLE, "--insecure-ignore-tlog", "--insecure-ignore-sct", "--signature", sig, blob];
  try {
    const { stderr } = await promisify(execFile)(COSIGN, args, { env: { ...process.env, HOME: sigstore.work }, timeout: 60_000 });
    return { ok: true, output: stderr };
  } catch (error) {
    return { ok: false, output: String((error as { stderr?: string }).stderr ?? error) };
  }
}

async function both(name: string, fixture: Fixture): Promise<{ cosign: boolean; ours: boolean; why: string }> {
  const bytes = randomBytes(1024);
  const leaf = await makeLeaf(sigstore, { san: { email: K8S_SIGNER }, issuer: GOOGLE, notBefore: new Date(Date.now() - MINUTE), notAfter: new Date(Date.now() + 9 * MINUTE), ...fixture.leaf });
  const signature = signBytes(leaf.key, fixture.signOther ? randomBytes(1024) : bytes);
  const files = cosignFiles(leaf, signature);
  const dir = sigstore.work;
  await writeFile(path.join(dir, `${name}.blob`), bytes);
  await writeFile(path.join(dir, `${name}.sig`), files.sig);
  await writeFile(path.join(dir, `${name}.cert.pem`), leaf.pem);
  const cosign = await cosignAccepts(path.join(dir, `${name}.blob`), path.join(dir, `${name}.sig`), path.join(dir, `${name}.cert.pem`));
  const trust = await loadSigstoreTrust(sigstore.trustDir);
  let ours = true;
  let why = "";
  try {
    await verifyDetachedSignature({ label: name, content: { bytes }, signature: { text: files.sig, from: "sig" }, certificate: { text: files.cert, from: "cert" }, identity: "kubernetes-release" }, trust);
  } catch (error) {
    ours = false;
    why = error instanceof Error ? error.message : String(error);
  }
  return { cosign: cosign.ok, ours, why: `cosign: ${cosign.output.trim().split("\n").pop() ?? ""}; ours: ${why}` };
}

describe.skipIf(!present)(title, () => {
  beforeAll(async () => {
    sigstore = await makeTestSigstore();
  });
  afterAll(async () => {
    await sigstore?.cleanup();
  });

  const cases: [string, Fixture, boolean][] = [
    ["good", { leaf: {} }, true],
    ["wrong-san", { leaf: { san: { email: "krel-trust@k8s-releng-prod.iam.gserviceaccount.com" } } }, false],
    ["wrong-issuer", { leaf: { issuer: "https://oauth2.sigstore.dev/auth" } }, false],
    ["rogue-chain", { leaf: { by: "rogue" } }, false],
    ["expired-intermediate", { leaf: { by: "expiredIntermediate" } }, false],
    ["other-bytes", { leaf: {}, signOther: true }, false],
    ["not-yet-valid", { leaf: { notBefore: new Date(Date.now() + 60 * MINUTE), notAfter: new Date(Date.now() + 70 * MINUTE) } }, false],
  ];
  it("expired-long-ago: cosign without a tlog refuses any expired certificate, pin takes notBefore as the signing time (documented difference)", async () => {
    const then = Date.now() - 30 * 24 * 60 * MINUTE;
    const result = await both("expired", { leaf: { notBefore: new Date(then), notAfter: new Date(then + 10 * MINUTE) } });
    expect({ cosign: result.cosign, ours: result.ours }, result.why).toEqual({ cosign: false, ours: true });
    expect(result.why).toMatch(/expected a signed timestamp to verify an expired certificate/);
  });

  for (const [name, fixture, accepted] of cases) {
    it(`${name}: both ${accepted ? "accept" : "refuse"}`, async () => {
      const result = await both(name, fixture);
      expect({ cosign: result.cosign, ours: result.ours }, result.why).toEqual({ cosign: accepted, ours: accepted });
    });
  }
});
