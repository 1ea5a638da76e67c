// The X.509 and trust-root pieces on their own: the pinned public-good roots load and chain, the
// DER walk reads Fulcio's extensions, and identities.json is strict.
import { X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_SIGSTORE_TRUST_DIR, loadSigstoreTrust } from "../../pipeline/trust/sigstore-trust.js";
import { ChainError, verifyChain } from "../../pipeline/trust/x509-chain.js";
import { decodeOid, DerError, readTlv } from "../../pipeline/trust/x509-der.js";
import { certificateExtensions, fulcioIssuer, subjectAltNames } from "../../pipeline/trust/x509-extensions.js";
import { GITHUB_ACTIONS, KUBE2IAM_SIGNER, makeLeaf, makeTestSigstore, type TestSigstore } from "./sigstore-fixtures.js";

let sigstore: TestSigstore;
beforeAll(async () => {
  sigstore = await makeTestSigstore();
});
afterAll(async () => {
  await sigstore.cleanup();
});

describe("the pinned public-good Sigstore trust", () => {
  it("loads the Fulcio root and intermediate, the Rekor key and the expected signers", async () => {
    const trust = await loadSigstoreTrust();
    expect(trust.dir).toBe(DEFAULT_SIGSTORE_TRUST_DIR);
    expect(trust.anchors.roots.map((c) => c.subject.replace(/\n/g, ", "))).toEqual(["O=sigstore.dev, CN=sigstore"]);
    expect(trust.anchors.intermediates.map((c) => c.subject.replace(/\n/g, ", "))).toEqual(["O=sigstore.dev, CN=sigstore-intermediate"]);
    expect(trust.anchors.roots[0]?.fingerprint256).toBe("3B:A7:B6:CC:4E:95:46:9D:4D:33:4B:49:CB:25:7A:D8:53:70:76:FA:84:B0:CA:87:FF:4E:CF:E6:A5:46:80:C1");
    expect([...trust.rekorKeys.keys()]).toEqual(["c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d"]);
    expect(trust.identities.get("kubernetes-release")).toMatchObject({ issuer: "https://accounts.google.com", subject: "krel-staging@k8s-releng-prod.iam.gserviceaccount.com" });
    const kube2iam = trust.identities.get("kube2iam-release");
    expect(kube2iam?.issuer).toBe("https://token.actions.githubusercontent.com");
    expect(kube2iam?.subjectPattern?.test(KUBE2IAM_SIGNER)).toBe(true);
    expect(kube2iam?.subjectPattern?.test("https://github.com/podplane/kube2iam-binaries/.github/workflows/release.yml@refs/tags/0.11.2")).toBe(true);
    expect(kube2iam?.subjectPattern?.test("https://github.com/podplane/kube2iam-binaries/.github/workflows/other.yml@refs/heads/main")).toBe(false);
  });

  it("chains the intermediate to the root while both are valid, and not after they expire", async () => {
    const { anchors } = await loadSigstoreTrust();
    const intermediate = anchors.intermediates[0]!;
    expect(verifyChain(intermediate, { roots: anchors.roots, intermediates: [] }, new Date("2025-06-01T00:00:00Z")).map((c) => c.subject.split("\n").pop())).toEqual(["CN=sigstore-intermediate", "CN=sigstore"]);
    expect(() => verifyChain(intermediate, { roots: anchors.roots, intermediates: [] }, new Date("2032-01-01T00:00:00Z"))).toThrow(/CN=sigstore is expired at 2032-01-01/);
  });
});

describe("Fulcio certificate fields", () => {
  it("reads the URI SAN and the issuer from the DER, and that it chains to the test root", async () => {
    const leaf = await makeLeaf(sigstore, { san: { uri: KUBE2IAM_SIGNER }, issuer: GITHUB_ACTIONS, notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 540_000) });
    const cert = new X509Certificate(leaf.pem);
    const extensions = certificateExtensions(cert);
    expect(subjectAltNames(extensions)).toEqual([{ type: "uri", value: KUBE2IAM_SIGNER }]);
    expect(extensions.get("2.5.29.17")?.critical).toBe(true);
    expect(fulcioIssuer(extensions)).toBe(GITHUB_ACTIONS);
    const trust = await loadSigstoreTrust(sigstore.trustDir);
    expect(verifyChain(cert, trust.anchors, new Date()).map((c) => c.subject.split("\n").pop())).toEqual(["O=sigstore.dev", "CN=test-intermediate", "CN=test-root"]);
    // against the real roots: no path
    const real = await loadSigstoreTrust();
    expect(() => verifyChain(cert, real.anchors, new Date())).toThrow(ChainError);
  });

  it("decodes OIDs and refuses DER that runs past its container", () => {
    expect(decodeOid(Buffer.from("2b0601040183bf300101", "hex"))).toBe("1.3.6.1.4.1.57264.1.1");
    expect(decodeOid(Buffer.from("551d11", "hex"))).toBe("2.5.29.17");
    expect(() => readTlv(Buffer.from("3005020101", "hex"))).toThrow(DerError);
    expect(() => readTlv(Buffer.from("30", "hex"))).toThrow(/truncated/);
  });
});

describe("identities.json", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "pp-identities-"));
    for (const file of ["root.pem", "intermediate.pem"]) await writeFile(path.join(dir, file), await readFile(path.join(sigstore.trustDir, file)));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const withIdentities = async (identities: unknown) => {
    await writeFile(path.join(dir, "identities.json"), JSON.stringify({ identities }));
    return loadSigstoreTrust(dir);
  };

  it("refuses an unanchored pattern, both or neither of subject and subjectPattern, and a missing issuer", async () => {
    await expect(withIdentities({ a: { issuer: "x", subjectPattern: "https://github.com/.*" } })).rejects.toThrow(/identity a: subjectPattern must be anchored/);
    await expect(withIdentities({ a: { issuer: "x", subject: "s", subjectPattern: "^s$" } })).rejects.toThrow(/identity a needs exactly one of "subject" and "subjectPattern"/);
    await expect(withIdentities({ a: { issuer: "x" } })).rejects.toThrow(/needs exactly one/);
    await expect(withIdentities({ a: { subject: "s" } })).rejects.toThrow(/identity a has no "issuer"/);
    await expect(withIdentities({ a: { issuer: "x", subject: "s" } })).resolves.toMatchObject({ rekorKeys: new Map() });
  });
});
