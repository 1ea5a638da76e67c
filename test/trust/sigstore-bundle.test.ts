// verifyBundle on its own: the older bundle shapes (x509CertificateChain), and bundles that are
// not a keyless blob signature.
import { X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyBundle } from "../../pipeline/trust/sigstore-bundle.js";
import { loadSigstoreTrust, type SigstoreTrust } from "../../pipeline/trust/sigstore-trust.js";
import { GITHUB_ACTIONS, KUBE2IAM_SIGNER, makeBundle, makeLeaf, makeTestSigstore, signBytes, type Leaf, type TestSigstore } from "./sigstore-fixtures.js";

let sigstore: TestSigstore;
let trust: SigstoreTrust;
let leaf: Leaf;
const bytes = Buffer.from("abc  kube2iam_0.11.2_linux_amd64.tar.gz\n");
beforeAll(async () => {
  sigstore = await makeTestSigstore();
  trust = await loadSigstoreTrust(sigstore.trustDir);
  leaf = await makeLeaf(sigstore, { san: { uri: KUBE2IAM_SIGNER }, issuer: GITHUB_ACTIONS, notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 540_000) });
});
afterAll(async () => {
  await sigstore.cleanup();
});

const verify = (text: string) => verifyBundle({ label: "kube2iam 0.11.2 amd64 checksum file", bytes, bundle: { text, from: "the.bundle" }, identity: "kube2iam-release" }, trust);

describe("verifyBundle", () => {
  it("accepts a v0.1 bundle whose x509CertificateChain carries the leaf and its intermediate", async () => {
    const v3 = JSON.parse(makeBundle(sigstore, leaf, bytes, signBytes(leaf.key, bytes))) as { mediaType: string; verificationMaterial: Record<string, unknown> };
    const intermediate = new X509Certificate(await readFile(sigstore.intermediate.cert));
    v3.mediaType = "application/vnd.dev.sigstore.bundle+json;version=0.1";
    v3.verificationMaterial.x509CertificateChain = { certificates: [{ rawBytes: leaf.der.toString("base64") }, { rawBytes: intermediate.raw.toString("base64") }] };
    delete v3.verificationMaterial.certificate;
    const checks = await verify(JSON.stringify(v3));
    expect(checks.map((c) => c.kind)).toEqual(["signature", "identity"]);
  });

  it("refuses what is not a keyless blob signature bundle, naming the check", async () => {
    await expect(verify("{")).rejects.toThrow(/^kube2iam 0\.11\.2 amd64 checksum file: Sigstore certificate check failed: the\.bundle is not a JSON Sigstore bundle/);
    await expect(verify(JSON.stringify({ mediaType: "application/json" }))).rejects.toThrow(/is not a Sigstore bundle \(mediaType "application\/json"\)/);
    await expect(verify(JSON.stringify({ mediaType: "application/vnd.dev.sigstore.bundle.v0.3+json", dsseEnvelope: {} }))).rejects.toThrow(/Sigstore signature check failed: the\.bundle holds no messageSignature \(a DSSE attestation, not a blob signature\)/);
    const keyed = JSON.parse(makeBundle(sigstore, leaf, bytes, signBytes(leaf.key, bytes))) as { verificationMaterial: Record<string, unknown> };
    keyed.verificationMaterial = { publicKey: { hint: "x" } };
    await expect(verify(JSON.stringify(keyed))).rejects.toThrow(/the bundle holds no certificate \(a key-signed bundle is not a keyless signature\)/);
    await expect(verifyBundle({ label: "x", bytes, bundle: { text: "{}", from: "b" }, identity: "nobody" }, trust)).rejects.toThrow(/^x: Sigstore identity check failed: no expected identity "nobody" in .*identities\.json/);
  });
});
