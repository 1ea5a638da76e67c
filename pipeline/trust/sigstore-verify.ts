// The checks every keyless Sigstore signature goes through, whatever carried it (.sig + .cert,
// or a bundle): the certificate chains to a pinned Fulcio root at the signing time, the leaf
// was valid then and is a code-signing certificate, Fulcio's issuer extension and the SAN are
// the expected signer's, and the ECDSA/SHA-256 signature covers exactly the bytes. Each failure
// names the artifact and the check.
import { createVerify, type X509Certificate } from "node:crypto";
import { createReadStream } from "node:fs";
import { WorkError } from "../errors/index.js";
import type { ExpectedIdentity, SigstoreTrust } from "./sigstore-trust.js";
import { oneLine, validAt, verifyChain } from "./x509-chain.js";
import { certificateExtensions, fulcioIssuer, OID, subjectAltNames } from "./x509-extensions.js";

/** The same shape as pin's per-artifact checks list. */
export interface SigstoreCheck {
  kind: "signature" | "identity";
  detail: string;
}

export type SigstoreCheckName = "certificate" | "chain" | "validity" | "issuer" | "identity" | "signature" | "transparency-log" | "digest";

export function sigstoreError(label: string, check: SigstoreCheckName, message: string, cause?: unknown): WorkError {
  return new WorkError("ESIGSTORE", `${label}: Sigstore ${check} check failed: ${message}`, { label, check }, cause === undefined ? undefined : { cause });
}

/** The signer `name` expects (trust/sigstore/identities.json), or ESIGSTORE naming the missing entry. */
export function expectedIdentity(trust: SigstoreTrust, name: string, label: string): ExpectedIdentity {
  const identity = trust.identities.get(name);
  if (!identity) throw sigstoreError(label, "identity", `no expected identity ${JSON.stringify(name)} in ${trust.dir}/identities.json`);
  return identity;
}

export interface SigningTime {
  at: Date;
  /** How the time was established, for the check's detail. */
  source: string;
}

export interface SignedBlob {
  /** `kubelet 1.36.1 amd64`, or `kube2iam 0.11.2 amd64 checksum file`. */
  label: string;
  /** What was signed: bytes in memory, or a file (a Kubernetes binary is ~100 MB; it is streamed). */
  content: { bytes: Buffer } | { file: string };
  signature: Buffer;
  certificate: X509Certificate;
  /** Intermediates that came with the signature (a bundle's chain); trust still ends at a pinned root. */
  chain?: readonly X509Certificate[];
  identity: ExpectedIdentity;
  time: SigningTime;
}

function describeSans(sans: { type: string; value: string }[]): string {
  return sans.length === 0 ? "no SAN" : sans.map((s) => `${s.type}:${s.value}`).join(", ");
}

/** ECDSA (or any key type the certificate holds) over SHA-256 of the content; false on any error. */
async function signatureVerifies(content: SignedBlob["content"], key: X509Certificate["publicKey"], signature: Buffer): Promise<{ ok: boolean; size: number }> {
  const verifier = createVerify("sha256");
  let size = 0;
  if ("bytes" in content) {
    verifier.update(content.bytes);
    size = content.bytes.length;
  } else {
    for await (const chunk of createReadStream(content.file) as AsyncIterable<Buffer>) {
      verifier.update(chunk);
      size += chunk.length;
    }
  }
  try {
    return { ok: verifier.verify(key, signature), size };
  } catch {
    return { ok: false, size };
  }
}

export async function verifySignedBlob(blob: SignedBlob, trust: SigstoreTrust): Promise<SigstoreCheck[]> {
  const { label, certificate: leaf, identity, time } = blob;
  let path;
  try {
    path = verifyChain(leaf, trust.anchors, time.at, blob.chain ?? []);
  } catch (error) {
    throw sigstoreError(label, "chain", `certificate ${oneLine(leaf.subject) || "(empty subject)"} issued by ${oneLine(leaf.issuer)} ${error instanceof Error ? error.message : String(error)} (roots from ${trust.dir})`, error);
  }
  const state = validAt(leaf, time.at);
  if (state !== "ok") {
    throw sigstoreError(label, "validity", `the signing certificate is ${state} at the signing time ${time.at.toISOString()} (${time.source}); it is valid ${leaf.validFrom} to ${leaf.validTo}`);
  }
  if (leaf.ca) throw sigstoreError(label, "certificate", "the signing certificate is a CA certificate, not a Fulcio leaf");
  if (!(leaf.keyUsage ?? []).includes(OID.codeSigning)) {
    throw sigstoreError(label, "certificate", "the signing certificate is not for code signing (no extended key usage 1.3.6.1.5.5.7.3.3)");
  }
  let extensions;
  let issuer;
  try {
    extensions = certificateExtensions(leaf);
    issuer = fulcioIssuer(extensions);
  } catch (error) {
    throw sigstoreError(label, "certificate", `the signing certificate's extensions do not parse: ${error instanceof Error ? error.message : String(error)}`, error);
  }
  if (issuer !== identity.issuer) {
    throw sigstoreError(label, "issuer", `OIDC issuer ${issuer === undefined ? "(none: no Fulcio issuer extension)" : JSON.stringify(issuer)} is not ${JSON.stringify(identity.issuer)} (expected for ${identity.name})`);
  }
  const sans = subjectAltNames(extensions);
  const matched = sans.find((san) => san.type !== "other" && (identity.subject !== undefined ? san.value === identity.subject : (identity.subjectPattern?.test(san.value) ?? false)));
  if (!matched) {
    const expected = identity.subject ?? identity.subjectPattern?.source ?? "?";
    throw sigstoreError(label, "identity", `signer ${describeSans(sans)} is not ${identity.name}'s ${JSON.stringify(expected)}`);
  }
  const { ok, size } = await signatureVerifies(blob.content, leaf.publicKey, blob.signature);
  if (!ok) throw sigstoreError(label, "signature", `the signature does not verify over the ${size} downloaded bytes with the certificate's key`);
  const root = path[path.length - 1];
  return [
    { kind: "signature", detail: `Sigstore signature over the bytes verified; certificate chains to ${root ? oneLine(root.subject) : "?"} at ${time.at.toISOString()} (${time.source})` },
    { kind: "identity", detail: `signer ${matched.value} via ${issuer} (${identity.name})` },
  ];
}
