// pin with Sigstore: Kubernetes binaries (.sig + .cert) and kube2iam's signed checksum file
// (a bundle), against a test CA served on 127.0.0.1. Every bad signature refuses the pin with an
// error naming the artifact and the check, and leaves the manifests as they were.
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WorkError } from "../../pipeline/errors/index.js";
import { pinDependency, type PinOptions } from "../../pipeline/pin/index.js";
import { digestOf, mirrorPath, pinWorkspace } from "../fetch/helpers.js";
import { cosignFiles, GITHUB_ACTIONS, GOOGLE, K8S_SIGNER, KUBE2IAM_SIGNER, makeBundle, makeLeaf, makeTestSigstore, signBytes, type BundleOptions, type Leaf, type LeafOptions, type TestSigstore } from "./sigstore-fixtures.js";

const MINUTE = 60_000;
const K8S = "https://dl.k8s.io/release/v1.37.0/bin/linux";
const KUBE2IAM = "https://github.com/podplane/kube2iam-binaries/releases/download/0.11.2";

let sigstore: TestSigstore;
/** The well-formed leaves most tests use, made once (openssl runs are the suite's main cost). */
const goodLeaves = new Map<string, Leaf>();
beforeAll(async () => {
  sigstore = await makeTestSigstore();
  goodLeaves.set(K8S_SIGNER, await makeLeaf(sigstore, { san: { email: K8S_SIGNER }, issuer: GOOGLE, ...fresh() }));
  goodLeaves.set(KUBE2IAM_SIGNER, await makeLeaf(sigstore, { san: { uri: KUBE2IAM_SIGNER }, issuer: GITHUB_ACTIONS, ...fresh() }));
});
afterAll(async () => {
  await sigstore.cleanup();
});

async function setup() {
  const { dir, manifestsDir, mirror, upstream } = await pinWorkspace("pp-pin-sigstore-");
  const pin = (spec: string, extra: Partial<PinOptions> = {}) =>
    pinDependency({ spec, manifestsDir, cacheDir: path.join(dir, "cache"), mirror: mirror.url, checksumsFrom: upstream.url, sigstoreTrustDir: sigstore.trustDir, retry: { retries: 0, baseDelayMs: 1 }, ...extra });
  const manifest = (name: string) => readFile(path.join(manifestsDir, name), "utf8");
  return { mirror, upstream, pin, manifest };
}

function fresh(): Pick<LeafOptions, "notBefore" | "notAfter"> {
  return { notBefore: new Date(Date.now() - 2 * MINUTE), notAfter: new Date(Date.now() + 8 * MINUTE) };
}

/** A leaf for `options`: the shared good one when the options are the defaults, else a new one. */
async function leafFor(options: LeafOptions, defaults: LeafOptions): Promise<Leaf> {
  const keys = new Set([...Object.keys(options), ...Object.keys(defaults)]) as Set<keyof LeafOptions>;
  const differs = [...keys].some((k) => (k === "notBefore" || k === "notAfter" ? Math.abs(options[k].getTime() - defaults[k].getTime()) > MINUTE : JSON.stringify(options[k]) !== JSON.stringify(defaults[k])));
  const shared = goodLeaves.get("email" in options.san ? options.san.email : options.san.uri);
  if (!differs && shared) return shared;
  return makeLeaf(sigstore, options);
}

/** Serves a Kubernetes binary with its .sha256, .sig and .cert; `sign` may sign other bytes. */
async function serveK8s(env: Awaited<ReturnType<typeof setup>>, bin: string, arch: string, leaf: LeafOptions, sign?: Buffer) {
  const url = `${K8S}/${arch}/${bin}`;
  const bytes = randomBytes(2048);
  env.mirror.file(mirrorPath(url), bytes);
  env.upstream.file(mirrorPath(`${url}.sha256`), digestOf(bytes).slice("sha256:".length));
  const cert = await leafFor(leaf, k8sLeaf());
  const files = cosignFiles(cert, signBytes(cert.key, sign ?? bytes));
  env.upstream.file(mirrorPath(`${url}.sig`), files.sig);
  env.upstream.file(mirrorPath(`${url}.cert`), files.cert);
  return bytes;
}

async function expectRefused(env: Awaited<ReturnType<typeof setup>>, spec: string, options: Partial<PinOptions>, file: string, pattern: RegExp): Promise<WorkError> {
  const before = await env.manifest(file);
  const error = (await env.pin(spec, options).catch((e: unknown) => e)) as WorkError;
  expect(error).toBeInstanceOf(WorkError);
  expect(error.message).toMatch(pattern);
  expect(await env.manifest(file)).toBe(before);
  return error;
}

const KUBELET = { kinds: ["knd" as const], arches: ["amd64" as const] };
const k8sLeaf = (extra: Partial<LeafOptions> = {}): LeafOptions => ({ san: { email: K8S_SIGNER }, issuer: GOOGLE, ...fresh(), ...extra });

describe("pin verifies Kubernetes' keyless cosign signatures", () => {
  it("pins every binary whose signature, chain and signer check out, and reports the checks", async () => {
    const env = await setup();
    const bins = ["kubelet", "kube-apiserver", "kube-scheduler", "kube-controller-manager", "kubectl"];
    for (const bin of bins) await serveK8s(env, bin, "amd64", k8sLeaf());
    const result = await env.pin("kubernetes@1.37.0", { arches: ["amd64"] });
    expect(result.pins).toHaveLength(5);
    for (const pinned of result.pins) {
      expect(pinned.checks.map((c) => c.kind)).toEqual(["digest-file", "signature", "identity"]);
      expect(pinned.checks[1]?.detail).toMatch(/chains to O=podplane-test, CN=test-root at .*the certificate's notBefore/);
      expect(pinned.checks[2]?.detail).toBe(`signer ${K8S_SIGNER} via ${GOOGLE} (kubernetes-release)`);
    }
    expect(await env.manifest("knd.debian-13.amd64.json")).toContain(`${K8S}/amd64/kubelet`);
  });

  it("accepts a certificate that carries only the V1 or only the V2 issuer extension", async () => {
    const env = await setup();
    await serveK8s(env, "kubelet", "amd64", k8sLeaf({ issuerV2: null }));
    await expect(env.pin("kubelet@1.37.0", KUBELET)).resolves.toBeDefined();
    const env2 = await setup();
    await serveK8s(env2, "kubelet", "amd64", k8sLeaf({ issuerV1: null }));
    await expect(env2.pin("kubelet@1.37.0", KUBELET)).resolves.toBeDefined();
  });

  it("accepts a certificate that expired long ago: the signing time is its notBefore, when the chain was valid", async () => {
    const env = await setup();
    const then = Date.now() - 200 * 24 * 3600_000;
    await serveK8s(env, "kubelet", "amd64", k8sLeaf({ notBefore: new Date(then), notAfter: new Date(then + 10 * MINUTE) }));
    const result = await env.pin("kubelet@1.37.0", KUBELET);
    expect(result.pins[0]?.checks[1]?.detail).toContain(new Date(Math.floor(then / 1000) * 1000).toISOString());
  });

  const bad: [string, LeafOptions | ((env: Awaited<ReturnType<typeof setup>>) => Promise<void>), RegExp][] = [
    ["a wrong signer (krel-trust signs images, not binaries)", k8sLeaf({ san: { email: "krel-trust@k8s-releng-prod.iam.gserviceaccount.com" } }), /^kubelet 1\.37\.0 amd64: Sigstore identity check failed: signer email:krel-trust@k8s-releng-prod\.iam\.gserviceaccount\.com is not kubernetes-release's "krel-staging@/],
    ["a wrong OIDC issuer", k8sLeaf({ issuer: "https://oauth2.sigstore.dev/auth" }), /^kubelet 1\.37\.0 amd64: Sigstore issuer check failed: OIDC issuer "https:\/\/oauth2\.sigstore\.dev\/auth" is not "https:\/\/accounts\.google\.com"/],
    ["issuer extensions that disagree", k8sLeaf({ issuerV1: "https://evil.example" }), /^kubelet 1\.37\.0 amd64: Sigstore certificate check failed: .*two issuer extensions disagree/],
    ["no issuer extension at all", k8sLeaf({ issuerV1: null, issuerV2: null }), /Sigstore issuer check failed: OIDC issuer \(none: no Fulcio issuer extension\)/],
    ["a chain to a root that is not pinned", k8sLeaf({ by: "rogue" }), /^kubelet 1\.37\.0 amd64: Sigstore chain check failed: certificate O=sigstore\.dev issued by O=podplane-test, CN=rogue-intermediate does not chain to a pinned root/],
    ["an intermediate that had expired when the leaf was issued", k8sLeaf({ by: "expiredIntermediate" }), /Sigstore chain check failed: .*test-expired-intermediate is expired at/],
    ["a certificate that is not valid yet", k8sLeaf({ notBefore: new Date(Date.now() + 60 * MINUTE), notAfter: new Date(Date.now() + 70 * MINUTE) }), /^kubelet 1\.37\.0 amd64: Sigstore validity check failed: the signing certificate .*kubelet\.cert is not valid yet/],
    ["a certificate not for code signing", k8sLeaf({ codeSigning: false }), /Sigstore certificate check failed: .*not for code signing/],
  ];
  for (const [what, leaf, pattern] of bad) {
    it(`refuses ${what}`, async () => {
      const env = await setup();
      if (typeof leaf === "function") await leaf(env);
      else await serveK8s(env, "kubelet", "amd64", leaf);
      const error = await expectRefused(env, "kubelet@1.37.0", KUBELET, "knd.debian-13.amd64.json", pattern);
      expect(error.code).toBe("ESIGSTORE");
    });
  }

  it("refuses a signature over other bytes, a garbled signature and a missing one", async () => {
    const env = await setup();
    await serveK8s(env, "kubelet", "amd64", k8sLeaf(), randomBytes(2048));
    await expectRefused(env, "kubelet@1.37.0", KUBELET, "knd.debian-13.amd64.json", /^kubelet 1\.37\.0 amd64: Sigstore signature check failed: the signature does not verify over the 2048 downloaded bytes/);

    env.upstream.file(mirrorPath(`${K8S}/amd64/kubelet.sig`), "not base64!");
    await expectRefused(env, "kubelet@1.37.0", KUBELET, "knd.debian-13.amd64.json", /Sigstore signature check failed: .*kubelet\.sig is not a base64 signature/);

    env.upstream.route(mirrorPath(`${K8S}/amd64/kubelet.sig`), (_req, res) => res.writeHead(404).end());
    await expectRefused(env, "kubelet@1.37.0", KUBELET, "knd.debian-13.amd64.json", /^kubelet 1\.37\.0 amd64 signature: not found \(HTTP 404\): .*kubelet\.sig$/);
  });

  it("refuses a Kubernetes binary against the real pinned roots when the test CA signed it", async () => {
    const env = await setup();
    await serveK8s(env, "kubelet", "amd64", k8sLeaf());
    await expectRefused(env, "kubelet@1.37.0", { ...KUBELET, sigstoreTrustDir: undefined }, "knd.debian-13.amd64.json", /Sigstore chain check failed: .*does not chain to a pinned root.*trust\/sigstore\)/);
  });
});

describe("pin verifies kube2iam's Sigstore bundle before trusting its checksum file", () => {
  const SUMS = `${KUBE2IAM}/kube2iam_0.11.2_checksums.txt`;
  const kube2iamLeaf = (extra: Partial<LeafOptions> = {}): LeafOptions => ({ san: { uri: KUBE2IAM_SIGNER }, issuer: GITHUB_ACTIONS, ...fresh(), ...extra });

  async function serveKube2iam(env: Awaited<ReturnType<typeof setup>>, leaf: LeafOptions, bundle: BundleOptions & { signOther?: boolean } = {}) {
    const url = `${KUBE2IAM}/kube2iam_0.11.2_linux_amd64.tar.gz`;
    const bytes = randomBytes(2048);
    env.mirror.file(mirrorPath(url), bytes);
    const sums = Buffer.from(`${digestOf(bytes, "sha512").slice("sha512:".length)}  kube2iam_0.11.2_linux_amd64.tar.gz\n`);
    env.upstream.file(mirrorPath(SUMS), sums);
    const cert = await leafFor(leaf, kube2iamLeaf());
    const signed = bundle.signOther ? Buffer.from("another checksum file\n") : sums;
    env.upstream.file(mirrorPath(`${SUMS}.bundle`), makeBundle(sigstore, cert, signed, signBytes(cert.key, signed), bundle));
    return bytes;
  }

  it("pins when the bundle, its Rekor promise and the release workflow identity check out", async () => {
    const env = await setup();
    const bytes = await serveKube2iam(env, kube2iamLeaf());
    const result = await env.pin("kube2iam@0.11.2", KUBELET);
    expect(result.pins[0]).toMatchObject({ digest: digestOf(bytes, "sha512") });
    expect(result.pins[0]?.checks.map((c) => c.kind)).toEqual(["digest-file", "signature", "identity"]);
    expect(result.pins[0]?.checks[1]?.detail).toMatch(/Rekor integratedTime of log entry 424242, signed entry timestamp verified/);
    expect(result.pins[0]?.checks[2]?.detail).toBe(`signer ${KUBE2IAM_SIGNER} via ${GITHUB_ACTIONS} (kube2iam-release)`);
  });

  it("takes the certificate's notBefore as signing time when the bundle has no inclusion promise, and says so", async () => {
    const env = await setup();
    await serveKube2iam(env, kube2iamLeaf(), { noPromise: true });
    const result = await env.pin("kube2iam@0.11.2", KUBELET);
    expect(result.pins[0]?.checks[1]?.detail).toMatch(/the certificate's notBefore; the bundle has no Rekor inclusion promise/);
  });

  const bad: [string, LeafOptions, BundleOptions & { signOther?: boolean }, RegExp][] = [
    ["another repository's workflow", kube2iamLeaf({ san: { uri: "https://github.com/evil/kube2iam-binaries/.github/workflows/release.yml@refs/heads/main" } }), {}, /^kube2iam 0\.11\.2 amd64 checksum file: Sigstore identity check failed: signer uri:https:\/\/github\.com\/evil\//],
    ["a branch other than main", kube2iamLeaf({ san: { uri: KUBE2IAM_SIGNER.replace("heads/main", "heads/feature") } }), {}, /Sigstore identity check failed/],
    ["a Google identity instead of GitHub Actions", kube2iamLeaf({ issuer: GOOGLE }), {}, /^kube2iam 0\.11\.2 amd64 checksum file: Sigstore issuer check failed/],
    ["a certificate that had expired when Rekor logged the signature", kube2iamLeaf(), { integratedTime: Math.floor(Date.now() / 1000) + 3600 }, /^kube2iam 0\.11\.2 amd64 checksum file: Sigstore validity check failed: the signing certificate is expired at the signing time .*Rekor integratedTime/],
    ["a signature over another checksum file", kube2iamLeaf(), { signOther: true }, /^kube2iam 0\.11\.2 amd64 checksum file: Sigstore digest check failed: the bundle signs SHA2_256 [0-9a-f]{64}, not the downloaded file's sha256/],
    ["a log entry for another digest", kube2iamLeaf(), { loggedDigest: "00".repeat(32) }, /Sigstore transparency-log check failed: the tlog entry logs digest sha256:0{64}/],
    ["a rogue CA", kube2iamLeaf({ by: "rogue" }), {}, /^kube2iam 0\.11\.2 amd64 checksum file: Sigstore chain check failed/],
  ];
  for (const [what, leaf, bundle, pattern] of bad) {
    it(`refuses ${what}`, async () => {
      const env = await setup();
      await serveKube2iam(env, leaf, bundle);
      const error = await expectRefused(env, "kube2iam@0.11.2", KUBELET, "knd.debian-13.amd64.json", pattern);
      expect(error.code).toBe("ESIGSTORE");
    });
  }

  it("refuses an inclusion promise signed by another log's key", async () => {
    const { generateKeyPairSync } = await import("node:crypto");
    const env = await setup();
    await serveKube2iam(env, kube2iamLeaf(), { rekorKey: generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey });
    await expectRefused(env, "kube2iam@0.11.2", KUBELET, "knd.debian-13.amd64.json", /Sigstore transparency-log check failed: the signed entry timestamp of tlog entry 424242 does not verify with the pinned Rekor key/);
  });

  it("refuses a checksum file without its bundle, and before downloading the tarball", async () => {
    const env = await setup();
    await serveKube2iam(env, kube2iamLeaf());
    env.upstream.route(mirrorPath(`${SUMS}.bundle`), (_req, res) => res.writeHead(404).end());
    env.mirror.route(mirrorPath(`${SUMS}.bundle`), (_req, res) => res.writeHead(404).end());
    await expectRefused(env, "kube2iam@0.11.2", KUBELET, "knd.debian-13.amd64.json", /^kube2iam 0\.11\.2 amd64 checksum file Sigstore bundle: not found \(HTTP 404\): .*checksums\.txt\.bundle$/);
    expect(env.mirror.count(mirrorPath(`${KUBE2IAM}/kube2iam_0.11.2_linux_amd64.tar.gz`))).toBe(0);
  });
});
