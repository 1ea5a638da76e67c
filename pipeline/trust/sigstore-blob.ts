// Kubernetes' detached cosign signatures: `{bin}.sig` (base64 of an ASN.1 ECDSA signature) and
// `{bin}.cert` (base64 of a PEM Fulcio certificate, no chain), published beside each binary.
//
// Signing time: dl.k8s.io publishes no Rekor entry or timestamp next to the files, and pin
// works offline against a mirror, so there is no independent witness of when the signature was
// made. The time is the certificate's own notBefore: Fulcio issues a certificate for immediate
// use (10 minutes), so the signature was made inside that window. The chain is checked at that
// instant (the intermediate and root must have been valid when Fulcio issued the leaf), and a
// certificate that claims to start in the future is refused. What this cannot tell is whether
// the ephemeral key was used after its 10 minutes; only a transparency-log entry (a bundle's SET)
// can, and that is what the bundle path uses when it has one. cosign gets that time by looking
// the signature up in Rekor online; with `--insecure-ignore-tlog` it instead refuses every
// expired certificate, i.e. every real Kubernetes signature older than 10 minutes (the oracle
// test pins this difference down).
import { X509Certificate } from "node:crypto";
import type { SigstoreTrust } from "./sigstore-trust.js";
import { expectedIdentity, sigstoreError, verifySignedBlob, type SignedBlob, type SigstoreCheck } from "./sigstore-verify.js";
import { validAt } from "./x509-chain.js";

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function decodeBase64(text: string): Buffer | undefined {
  const compact = text.replace(/\s+/g, "");
  if (compact === "" || !BASE64.test(compact)) return undefined;
  return Buffer.from(compact, "base64");
}

/** A `.cert` file: base64 of a PEM certificate (what dl.k8s.io serves), or the PEM itself. */
export function parseCosignCertificate(text: string, label: string, source: string): X509Certificate {
  const trimmed = text.trim();
  const pem = trimmed.startsWith("-----BEGIN") ? trimmed : decodeBase64(trimmed)?.toString("utf8");
  try {
    if (!pem) throw new Error("neither PEM nor base64");
    return new X509Certificate(pem);
  } catch (error) {
    throw sigstoreError(label, "certificate", `${source} is not a certificate (${error instanceof Error ? error.message : String(error)})`, error);
  }
}

/** A `.sig` file: base64 of the DER signature. */
export function parseCosignSignature(text: string, label: string, source: string): Buffer {
  const signature = decodeBase64(text);
  if (!signature) throw sigstoreError(label, "signature", `${source} is not a base64 signature`);
  return signature;
}

export interface DetachedSignature {
  label: string;
  content: SignedBlob["content"];
  signature: { text: string; from: string };
  certificate: { text: string; from: string };
  identity: string;
  now?: Date;
}

export async function verifyDetachedSignature(input: DetachedSignature, trust: SigstoreTrust): Promise<SigstoreCheck[]> {
  const { label } = input;
  const identity = expectedIdentity(trust, input.identity, label);
  const certificate = parseCosignCertificate(input.certificate.text, label, input.certificate.from);
  const signature = parseCosignSignature(input.signature.text, label, input.signature.from);
  const now = input.now ?? new Date();
  if (validAt(certificate, now) === "not yet valid") {
    throw sigstoreError(label, "validity", `the signing certificate ${input.certificate.from} is not valid yet at ${now.toISOString()} (valid from ${certificate.validFrom})`);
  }
  const time = { at: new Date(certificate.validFrom), source: "the certificate's notBefore; no transparency-log time is published with .sig/.cert" };
  return verifySignedBlob({ label, content: input.content, signature, certificate, identity, time }, trust);
}
