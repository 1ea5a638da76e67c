// A Sigstore bundle (application/vnd.dev.sigstore.bundle*+json, what `cosign sign-blob --bundle`
// writes): the Fulcio certificate (v0.3 `certificate`, or v0.1/0.2 `x509CertificateChain`), a
// `messageSignature` over the blob, and Rekor `tlogEntries`.
//
// Signing time: when an entry carries an inclusion promise (Rekor v1's signed entry timestamp),
// the promise is verified with a pinned Rekor key, the logged entry must be this signature over
// this digest with this certificate, and its integratedTime is the signing time: the leaf must
// have been valid then (a signature made with an expired certificate is refused). Without an
// inclusion promise (no tlog entry, or a Rekor v2 entry whose RFC 3161 timestamps are not read
// here) the time falls back to the certificate's notBefore, as for a detached .sig/.cert, and
// the check's detail says so.
import { createHash, verify as verifySignature, X509Certificate } from "node:crypto";
import type { SigstoreTrust } from "./sigstore-trust.js";
import { expectedIdentity, sigstoreError, verifySignedBlob, type SigningTime, type SigstoreCheck } from "./sigstore-verify.js";
import { validAt } from "./x509-chain.js";

interface TlogEntry {
  logIndex?: string | number;
  logId?: { keyId?: string };
  kindVersion?: { kind?: string; version?: string };
  integratedTime?: string | number;
  inclusionPromise?: { signedEntryTimestamp?: string };
  canonicalizedBody?: string;
}

interface BundleJson {
  mediaType?: string;
  verificationMaterial?: {
    certificate?: { rawBytes?: string };
    x509CertificateChain?: { certificates?: { rawBytes?: string }[] };
    tlogEntries?: TlogEntry[];
  };
  messageSignature?: { messageDigest?: { algorithm?: string; digest?: string }; signature?: string };
  dsseEnvelope?: unknown;
}

function parseBundle(text: string, label: string, from: string): BundleJson {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw sigstoreError(label, "certificate", `${from} is not a JSON Sigstore bundle (${error instanceof Error ? error.message : String(error)})`, error);
  }
  const bundle = doc as BundleJson;
  if (typeof bundle.mediaType !== "string" || !bundle.mediaType.startsWith("application/vnd.dev.sigstore.bundle")) {
    throw sigstoreError(label, "certificate", `${from} is not a Sigstore bundle (mediaType ${JSON.stringify(bundle.mediaType ?? null)})`);
  }
  return bundle;
}

function der(raw: string | undefined, label: string, what: string): X509Certificate {
  try {
    if (!raw) throw new Error("missing");
    return new X509Certificate(Buffer.from(raw, "base64"));
  } catch (error) {
    throw sigstoreError(label, "certificate", `the bundle's ${what} is not a certificate (${error instanceof Error ? error.message : String(error)})`, error);
  }
}

function certificatesOf(bundle: BundleJson, label: string): { leaf: X509Certificate; chain: X509Certificate[] } {
  const material = bundle.verificationMaterial;
  if (material?.certificate) return { leaf: der(material.certificate.rawBytes, label, "certificate"), chain: [] };
  const list = material?.x509CertificateChain?.certificates ?? [];
  if (list.length === 0) throw sigstoreError(label, "certificate", "the bundle holds no certificate (a key-signed bundle is not a keyless signature)");
  const [leaf, ...chain] = list.map((c, i) => der(c.rawBytes, label, `certificate ${i + 1}`));
  return { leaf: leaf!, chain };
}

/** The logged hashedrekord must be this very signature, digest and certificate. */
function checkLoggedBody(entry: TlogEntry, digestHex: string, signature: Buffer, leaf: X509Certificate, label: string): void {
  let body: { kind?: string; spec?: { data?: { hash?: { algorithm?: string; value?: string } }; signature?: { content?: string; publicKey?: { content?: string } } } };
  try {
    body = JSON.parse(Buffer.from(entry.canonicalizedBody ?? "", "base64").toString("utf8")) as typeof body;
  } catch (error) {
    throw sigstoreError(label, "transparency-log", "the tlog entry's body is not JSON", error);
  }
  if (body.kind !== "hashedrekord") throw sigstoreError(label, "transparency-log", `the tlog entry is a ${JSON.stringify(body.kind)}, not a hashedrekord`);
  const hash = body.spec?.data?.hash;
  if (hash?.algorithm !== "sha256" || hash.value !== digestHex) throw sigstoreError(label, "transparency-log", `the tlog entry logs digest ${hash?.algorithm ?? "?"}:${hash?.value ?? "?"}, not sha256:${digestHex}`);
  if (!Buffer.from(body.spec?.signature?.content ?? "", "base64").equals(signature)) throw sigstoreError(label, "transparency-log", "the tlog entry logs another signature");
  let logged: X509Certificate;
  try {
    logged = new X509Certificate(Buffer.from(body.spec?.signature?.publicKey?.content ?? "", "base64"));
  } catch (error) {
    throw sigstoreError(label, "transparency-log", "the tlog entry's certificate does not parse", error);
  }
  if (logged.fingerprint256 !== leaf.fingerprint256) throw sigstoreError(label, "transparency-log", "the tlog entry logs another certificate");
}

/** The inclusion promise's integratedTime, once its signature by a pinned Rekor key verifies. */
function promisedTime(entry: TlogEntry, trust: SigstoreTrust, label: string): Date {
  const logId = Buffer.from(entry.logId?.keyId ?? "", "base64").toString("hex");
  const key = trust.rekorKeys.get(logId);
  if (!key) throw sigstoreError(label, "transparency-log", `the tlog entry is from log ${logId || "(none)"}, not a pinned Rekor key (rekor*.pub in ${trust.dir})`);
  const integratedTime = Number(entry.integratedTime);
  const logIndex = Number(entry.logIndex);
  if (!Number.isSafeInteger(integratedTime) || !Number.isSafeInteger(logIndex)) throw sigstoreError(label, "transparency-log", "the tlog entry has no integer integratedTime/logIndex");
  // Rekor signs the canonical JSON (keys sorted, no spaces) of these four fields.
  const payload = JSON.stringify({ body: entry.canonicalizedBody ?? "", integratedTime, logID: logId, logIndex });
  const set = Buffer.from(entry.inclusionPromise?.signedEntryTimestamp ?? "", "base64");
  let ok = false;
  try {
    ok = verifySignature("sha256", Buffer.from(payload), key, set);
  } catch {
    ok = false;
  }
  if (!ok) throw sigstoreError(label, "transparency-log", `the signed entry timestamp of tlog entry ${logIndex} does not verify with the pinned Rekor key`);
  return new Date(integratedTime * 1000);
}

export interface BundleInput {
  /** `kube2iam 0.11.2 amd64 checksum file` */
  label: string;
  bytes: Buffer;
  bundle: { text: string; from: string };
  identity: string;
  now?: Date;
}

export async function verifyBundle(input: BundleInput, trust: SigstoreTrust): Promise<SigstoreCheck[]> {
  const { label } = input;
  const identity = expectedIdentity(trust, input.identity, label);
  const bundle = parseBundle(input.bundle.text, label, input.bundle.from);
  if (!bundle.messageSignature) throw sigstoreError(label, "signature", `${input.bundle.from} holds no messageSignature${bundle.dsseEnvelope ? " (a DSSE attestation, not a blob signature)" : ""}`);
  const { leaf, chain } = certificatesOf(bundle, label);
  const signature = Buffer.from(bundle.messageSignature.signature ?? "", "base64");
  if (signature.length === 0) throw sigstoreError(label, "signature", `${input.bundle.from} has an empty signature`);
  const digest = createHash("sha256").update(input.bytes).digest();
  const claimed = bundle.messageSignature.messageDigest;
  if (claimed && (claimed.algorithm !== "SHA2_256" || !Buffer.from(claimed.digest ?? "", "base64").equals(digest))) {
    throw sigstoreError(label, "digest", `the bundle signs ${claimed.algorithm ?? "?"} ${Buffer.from(claimed.digest ?? "", "base64").toString("hex")}, not the downloaded file's sha256 ${digest.toString("hex")}`);
  }
  const promised = (bundle.verificationMaterial?.tlogEntries ?? []).filter((e) => e.inclusionPromise?.signedEntryTimestamp);
  let time: SigningTime;
  const first = promised[0];
  if (first) {
    checkLoggedBody(first, digest.toString("hex"), signature, leaf, label);
    time = { at: promisedTime(first, trust, label), source: `Rekor integratedTime of log entry ${String(first.logIndex)}, signed entry timestamp verified` };
  } else {
    const now = input.now ?? new Date();
    if (validAt(leaf, now) === "not yet valid") throw sigstoreError(label, "validity", `the signing certificate is not valid yet at ${now.toISOString()} (valid from ${leaf.validFrom})`);
    time = { at: new Date(leaf.validFrom), source: "the certificate's notBefore; the bundle has no Rekor inclusion promise" };
  }
  return verifySignedBlob({ label, content: { bytes: input.bytes }, signature, certificate: leaf, chain, identity, time }, trust);
}
