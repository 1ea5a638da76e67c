// What a Fulcio certificate says about its signer: the SAN (email or URI) and the OIDC issuer
// from Fulcio's own extensions. Node's X509Certificate gives the SAN only as display text and no
// custom extensions at all, so both are read from the DER here.
import type { X509Certificate } from "node:crypto";
import { children, decodeOid, DerError, expectTag, readTlv, TAG } from "./x509-der.js";

export const OID = {
  subjectAltName: "2.5.29.17",
  /** Fulcio "Issuer" (v1, deprecated): the issuer URL as raw octets. */
  fulcioIssuerV1: "1.3.6.1.4.1.57264.1.1",
  /** Fulcio "Issuer (V2)": the issuer URL as a DER UTF8String. */
  fulcioIssuerV2: "1.3.6.1.4.1.57264.1.8",
  codeSigning: "1.3.6.1.5.5.7.3.3",
} as const;

export interface Extension {
  critical: boolean;
  value: Buffer;
}

/** Every extension of a certificate by OID (tbsCertificate's [3] EXPLICIT Extensions). */
export function certificateExtensions(cert: X509Certificate): Map<string, Extension> {
  const certificate = expectTag(readTlv(cert.raw), TAG.SEQUENCE, "Certificate");
  const tbs = expectTag(children(certificate.content)[0], TAG.SEQUENCE, "TBSCertificate");
  const out = new Map<string, Extension>();
  const wrapper = children(tbs.content).find((tlv) => tlv.tag === 0xa3);
  if (!wrapper) return out;
  const list = expectTag(readTlv(wrapper.content), TAG.SEQUENCE, "Extensions");
  for (const ext of children(list.content)) {
    const parts = children(expectTag(ext, TAG.SEQUENCE, "Extension").content);
    const oid = decodeOid(expectTag(parts[0], TAG.OID, "extnID").content);
    const critical = parts[1]?.tag === TAG.BOOLEAN ? parts[1].content[0] !== 0 : false;
    const value = expectTag(parts[parts.length - 1], TAG.OCTET_STRING, "extnValue").content;
    if (out.has(oid)) throw new DerError(`certificate repeats extension ${oid}`);
    out.set(oid, { critical, value });
  }
  return out;
}

export interface SubjectAltName {
  type: "email" | "uri" | "other";
  value: string;
}

/** The SAN entries; Fulcio puts the signer there as an rfc822Name (email) or a URI. */
export function subjectAltNames(extensions: Map<string, Extension>): SubjectAltName[] {
  const ext = extensions.get(OID.subjectAltName);
  if (!ext) return [];
  return children(expectTag(readTlv(ext.value), TAG.SEQUENCE, "GeneralNames").content).map((name) => {
    // [1] IMPLICIT IA5String rfc822Name, [6] IMPLICIT IA5String uniformResourceIdentifier
    if (name.tag === 0x81) return { type: "email", value: name.content.toString("latin1") };
    if (name.tag === 0x86) return { type: "uri", value: name.content.toString("latin1") };
    return { type: "other", value: `tag 0x${name.tag.toString(16)}` };
  });
}

/**
 * The OIDC issuer Fulcio recorded. The V2 extension (a UTF8String) wins; the V1 one holds raw
 * octets. When both are present they must agree, or the certificate is refused.
 */
export function fulcioIssuer(extensions: Map<string, Extension>): string | undefined {
  const v2 = extensions.get(OID.fulcioIssuerV2);
  const v1 = extensions.get(OID.fulcioIssuerV1)?.value.toString("utf8");
  const fromV2 = v2 ? expectTag(readTlv(v2.value), TAG.UTF8_STRING, "Fulcio issuer (V2)").content.toString("utf8") : undefined;
  if (fromV2 !== undefined && v1 !== undefined && fromV2 !== v1) {
    throw new DerError(`the certificate's two issuer extensions disagree (${OID.fulcioIssuerV2}: ${fromV2}, ${OID.fulcioIssuerV1}: ${v1})`);
  }
  return fromV2 ?? v1;
}
