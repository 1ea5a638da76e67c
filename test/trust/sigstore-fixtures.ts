// A test Sigstore: a root and an intermediate CA made with openssl at test time (backdated so
// "signed a while ago" cases chain), Fulcio-shaped leaf certificates (empty-ish subject, SAN,
// code-signing EKU, the issuer extensions 1.3.6.1.4.1.57264.1.1 / .1.8), a test Rekor key for
// signed entry timestamps, and a trust directory laid out like trust/sigstore. Also a rogue root
// that is not in the trust directory, for the untrusted-chain case.
import { execFileSync } from "node:child_process";
import { createHash, generateKeyPairSync, sign, X509Certificate, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

export const K8S_SIGNER = "krel-staging@k8s-releng-prod.iam.gserviceaccount.com";
export const GOOGLE = "https://accounts.google.com";
export const GITHUB_ACTIONS = "https://token.actions.githubusercontent.com";
export const KUBE2IAM_SIGNER = "https://github.com/podplane/kube2iam-binaries/.github/workflows/release.yml@refs/heads/main";

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

/** `openssl ca` date form: YYYYMMDDHHMMSSZ. */
function caDate(date: Date): string {
  return `${date.toISOString().replace(/[-:T]/g, "").slice(0, 14)}Z`;
}

function caConfig(dir: string): string {
  return `[ca]
default_ca = CA
[CA]
dir = ${dir}
database = ${dir}/index.txt
new_certs_dir = ${dir}/new
serial = ${dir}/serial
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
email_in_dn = no
[any]
organizationName = optional
commonName = optional
[root]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[intermediate]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
extendedKeyUsage = codeSigning
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;
}

interface Ca {
  name: string;
  dir: string;
  cert: string;
  key: string;
}

export interface TestSigstore {
  /** The trust directory (root + intermediate PEM, rekor.pub, identities.json) to pass to pin. */
  trustDir: string;
  root: Ca;
  intermediate: Ca;
  /** An intermediate that expired long ago (its leaves do not chain at a current signing time). */
  expiredIntermediate: Ca;
  /** A root + intermediate that are not in the trust directory. */
  rogue: Ca;
  rekorKey: KeyObject;
  rekorPublic: KeyObject;
  /** The chain as cosign's --certificate-chain wants it (intermediate then root), a file. */
  chainFile: string;
  work: string;
  /** Removes the work directory (call from afterAll: the CA is shared by a file's tests). */
  cleanup: () => Promise<void>;
}

async function newCaDir(work: string, name: string): Promise<string> {
  const dir = path.join(work, name);
  await mkdir(path.join(dir, "new"), { recursive: true });
  await writeFile(path.join(dir, "index.txt"), "");
  await writeFile(path.join(dir, "serial"), `${createHash("sha256").update(name + String(Math.random())).digest("hex").slice(0, 16)}\n`);
  await writeFile(path.join(dir, "ca.cnf"), caConfig(dir));
  return dir;
}

function ecKey(file: string, cwd: string): void {
  openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", file], cwd);
}

async function makeRoot(work: string, name: string, from: Date, to: Date): Promise<Ca> {
  const dir = await newCaDir(work, name);
  ecKey("key.pem", dir);
  openssl(["req", "-new", "-key", "key.pem", "-subj", `/O=podplane-test/CN=${name}`, "-out", "req.csr"], dir);
  openssl(["ca", "-batch", "-notext", "-selfsign", "-config", "ca.cnf", "-keyfile", "key.pem", "-in", "req.csr", "-out", "cert.pem", "-extensions", "root", "-startdate", caDate(from), "-enddate", caDate(to)], dir);
  return { name, dir, cert: path.join(dir, "cert.pem"), key: path.join(dir, "key.pem") };
}

async function makeIntermediate(work: string, name: string, parent: Ca, from: Date, to: Date): Promise<Ca> {
  const dir = await newCaDir(work, name);
  ecKey("key.pem", dir);
  openssl(["req", "-new", "-key", "key.pem", "-subj", `/O=podplane-test/CN=${name}`, "-out", "req.csr"], dir);
  openssl(["ca", "-batch", "-notext", "-config", path.join(parent.dir, "ca.cnf"), "-cert", parent.cert, "-keyfile", parent.key, "-in", path.join(dir, "req.csr"), "-out", path.join(dir, "cert.pem"), "-extensions", "intermediate", "-startdate", caDate(from), "-enddate", caDate(to)], dir);
  return { name, dir, cert: path.join(dir, "cert.pem"), key: path.join(dir, "key.pem") };
}

const YEAR = 365 * 24 * 3600 * 1000;

export async function makeTestSigstore(): Promise<TestSigstore> {
  const work = await mkdtemp(path.join(os.tmpdir(), "pp-sigstore-"));
  const now = Date.now();
  const root = await makeRoot(work, "test-root", new Date(now - 5 * YEAR), new Date(now + 5 * YEAR));
  const intermediate = await makeIntermediate(work, "test-intermediate", root, new Date(now - 4 * YEAR), new Date(now + 4 * YEAR));
  const expiredIntermediate = await makeIntermediate(work, "test-expired-intermediate", root, new Date(now - 4 * YEAR), new Date(now - 3 * YEAR));
  const rogueRoot = await makeRoot(work, "rogue-root", new Date(now - 5 * YEAR), new Date(now + 5 * YEAR));
  const rogue = await makeIntermediate(work, "rogue-intermediate", rogueRoot, new Date(now - 4 * YEAR), new Date(now + 4 * YEAR));
  const { privateKey: rekorKey, publicKey: rekorPublic } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });

  const trustDir = path.join(work, "trust");
  await mkdir(trustDir);
  const pem = (file: string) => new X509Certificate(readFileSync(file)).toString();
  await writeFile(path.join(trustDir, "root.pem"), pem(root.cert));
  await writeFile(path.join(trustDir, "intermediate.pem"), pem(intermediate.cert) + pem(expiredIntermediate.cert));
  await writeFile(path.join(trustDir, "rekor.pub"), rekorPublic.export({ type: "spki", format: "pem" }));
  await writeFile(
    path.join(trustDir, "identities.json"),
    JSON.stringify({
      identities: {
        "kubernetes-release": { issuer: GOOGLE, subject: K8S_SIGNER },
        "kube2iam-release": { issuer: GITHUB_ACTIONS, subjectPattern: "^https://github\\.com/podplane/kube2iam-binaries/\\.github/workflows/release\\.yml@refs/(heads/main|tags/[0-9A-Za-z][0-9A-Za-z.+_-]*)$" },
      },
    }),
  );
  const chainFile = path.join(work, "chain.pem");
  await writeFile(chainFile, pem(intermediate.cert) + pem(root.cert));
  return { trustDir, root, intermediate, expiredIntermediate, rogue, rekorKey, rekorPublic, chainFile, work, cleanup: () => rm(work, { recursive: true, force: true }) };
}

export interface LeafOptions {
  /** The SAN: an email (Google service account) or a URI (GitHub workflow). */
  san: { email: string } | { uri: string };
  /** Written to both Fulcio issuer extensions unless `issuerV1`/`issuerV2` say otherwise (null: left out). */
  issuer: string;
  issuerV1?: string | null;
  issuerV2?: string | null;
  notBefore: Date;
  notAfter: Date;
  /** Which CA issues it; default the trusted intermediate. */
  by?: "intermediate" | "expiredIntermediate" | "rogue";
  codeSigning?: boolean;
}

export interface Leaf {
  pem: string;
  der: Buffer;
  file: string;
  key: KeyObject;
}

let leaves = 0;

export async function makeLeaf(sigstore: TestSigstore, options: LeafOptions): Promise<Leaf> {
  const ca = sigstore[options.by ?? "intermediate"];
  const dir = path.join(sigstore.work, `leaf-${++leaves}`);
  await mkdir(dir);
  // the leaf key in-process (one openssl run less per leaf: the suite makes dozens)
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  await writeFile(path.join(dir, "key.pem"), privateKey.export({ type: "pkcs8", format: "pem" }));
  openssl(["req", "-new", "-key", "key.pem", "-subj", "/O=sigstore.dev", "-out", "req.csr"], dir);
  const san = "email" in options.san ? `email:${options.san.email}` : `URI:${options.san.uri}`;
  const v1 = options.issuerV1 === undefined ? options.issuer : options.issuerV1;
  const v2 = options.issuerV2 === undefined ? options.issuer : options.issuerV2;
  const lines = [
    "[leaf]",
    "basicConstraints = critical, CA:FALSE",
    "keyUsage = critical, digitalSignature",
    `extendedKeyUsage = ${options.codeSigning === false ? "serverAuth" : "codeSigning"}`,
    `subjectAltName = critical, ${san}`,
    "subjectKeyIdentifier = hash",
    "authorityKeyIdentifier = keyid",
  ];
  // Fulcio's V1 issuer extension holds the URL as raw octets; V2 a DER UTF8String.
  if (v1 !== null) lines.push(`1.3.6.1.4.1.57264.1.1 = DER:${Buffer.from(v1).toString("hex").replace(/(..)(?!$)/g, "$1:")}`);
  if (v2 !== null) lines.push(`1.3.6.1.4.1.57264.1.8 = ASN1:UTF8String:${v2}`);
  await writeFile(path.join(dir, "ext.cnf"), `${lines.join("\n")}\n`);
  openssl(
    ["ca", "-batch", "-notext", "-config", path.join(ca.dir, "ca.cnf"), "-cert", ca.cert, "-keyfile", ca.key, "-in", "req.csr", "-out", "cert.pem", "-extfile", "ext.cnf", "-extensions", "leaf", "-startdate", caDate(options.notBefore), "-enddate", caDate(options.notAfter)],
    dir,
  );
  const cert = new X509Certificate(readFileSync(path.join(dir, "cert.pem")));
  const file = path.join(dir, "leaf.pem");
  await writeFile(file, cert.toString());
  return { pem: cert.toString(), der: cert.raw, file, key: privateKey };
}

export function signBytes(key: KeyObject, bytes: Buffer): Buffer {
  return sign("sha256", bytes, key);
}

/** What dl.k8s.io serves: `.sig` = base64 of the DER signature, `.cert` = base64 of the PEM. */
export function cosignFiles(leaf: Leaf, signature: Buffer): { sig: string; cert: string } {
  return { sig: signature.toString("base64"), cert: Buffer.from(leaf.pem).toString("base64") };
}

export interface BundleOptions {
  /** Seconds since the epoch; default: one minute after the leaf's notBefore. */
  integratedTime?: number;
  /** Leave the inclusion promise out (no Rekor time). */
  noPromise?: boolean;
  /** Sign the promise with this key instead of the pinned test Rekor key. */
  rekorKey?: KeyObject;
  /** Log this digest instead of the signed bytes'. */
  loggedDigest?: string;
}

/** A v0.3 Sigstore bundle (the shape `cosign sign-blob --bundle` writes) over `bytes`. */
export function makeBundle(sigstore: TestSigstore, leaf: Leaf, bytes: Buffer, signature: Buffer, options: BundleOptions = {}): string {
  const digest = createHash("sha256").update(bytes).digest();
  const body = Buffer.from(
    JSON.stringify({
      apiVersion: "0.0.1",
      kind: "hashedrekord",
      spec: {
        data: { hash: { algorithm: "sha256", value: options.loggedDigest ?? digest.toString("hex") } },
        signature: { content: signature.toString("base64"), publicKey: { content: Buffer.from(leaf.pem).toString("base64") } },
      },
    }),
  ).toString("base64");
  const logId = createHash("sha256").update(sigstore.rekorPublic.export({ type: "spki", format: "der" })).digest();
  const integratedTime = options.integratedTime ?? Math.floor(new Date(new X509Certificate(leaf.pem).validFrom).getTime() / 1000) + 60;
  const logIndex = 424242;
  const payload = JSON.stringify({ body, integratedTime, logID: logId.toString("hex"), logIndex });
  const set = sign("sha256", Buffer.from(payload), options.rekorKey ?? sigstore.rekorKey);
  const entry = {
    logIndex: String(logIndex),
    logId: { keyId: logId.toString("base64") },
    kindVersion: { kind: "hashedrekord", version: "0.0.1" },
    integratedTime: String(integratedTime),
    ...(options.noPromise ? {} : { inclusionPromise: { signedEntryTimestamp: set.toString("base64") } }),
    canonicalizedBody: body,
  };
  return JSON.stringify({
    mediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
    verificationMaterial: { certificate: { rawBytes: leaf.der.toString("base64") }, tlogEntries: [entry] },
    messageSignature: { messageDigest: { algorithm: "SHA2_256", digest: digest.toString("base64") }, signature: signature.toString("base64") },
  });
}

/** The parts of a fixture server these helpers use (test/fixtures/http-server.ts). */
interface FileServer {
  file(path: string, body: Buffer | string): void;
}

const sharedLeaves = new WeakMap<TestSigstore, Map<string, Promise<Leaf>>>();

/** One currently valid leaf per signer and test CA, shared: making certificates costs openssl runs. */
function sharedLeaf(sigstore: TestSigstore, san: LeafOptions["san"], issuer: string): Promise<Leaf> {
  let byName = sharedLeaves.get(sigstore);
  if (!byName) sharedLeaves.set(sigstore, (byName = new Map<string, Promise<Leaf>>()));
  const key = JSON.stringify(san);
  let leaf = byName.get(key);
  if (!leaf) {
    leaf = makeLeaf(sigstore, { san, issuer, notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 3_600_000) });
    byName.set(key, leaf);
  }
  return leaf;
}

/**
 * For pin tests that serve Kubernetes binaries: `{url}.sig` and `{url}.cert` signed by the test
 * CA as Kubernetes' release signer, at `at(url)` on `server` (pass `mirrorPath`).
 */
export async function serveKubernetesSignature(sigstore: TestSigstore, server: FileServer, at: (url: string) => string, url: string, bytes: Buffer): Promise<void> {
  const leaf = await sharedLeaf(sigstore, { email: K8S_SIGNER }, GOOGLE);
  const files = cosignFiles(leaf, signBytes(leaf.key, bytes));
  server.file(at(`${url}.sig`), files.sig);
  server.file(at(`${url}.cert`), files.cert);
}

/** For pin tests that serve kube2iam: `{checksumsUrl}.bundle` over the checksum file's text, signed as its release workflow. */
export async function serveKube2iamBundle(sigstore: TestSigstore, server: FileServer, at: (url: string) => string, checksumsUrl: string, text: string): Promise<void> {
  const leaf = await sharedLeaf(sigstore, { uri: KUBE2IAM_SIGNER }, GITHUB_ACTIONS);
  const bytes = Buffer.from(text);
  server.file(at(`${checksumsUrl}.bundle`), makeBundle(sigstore, leaf, bytes, signBytes(leaf.key, bytes)));
}
