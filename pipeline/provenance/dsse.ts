// DSSE (Dead Simple Signing Envelope, secure-systems-lab/dsse v1.0.0): the pre-authentication
// encoding a signature covers, and the JSON envelope that carries payload and signatures. An
// envelope with no signatures is how an unsigned statement is kept (same file, same reader).
import type { Signer, Verifier } from "./keys.js";

export const INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";

export interface EnvelopeSignature {
  keyid?: string;
  /** Base64 of the signature bytes. */
  sig: string;
}

export interface Envelope {
  payloadType: string;
  /** Base64 of the serialized body. */
  payload: string;
  signatures: EnvelopeSignature[];
}

/**
 * PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, LEN being the byte
 * length in ASCII decimal. Byte lengths, not string lengths: a non-ASCII type must count bytes.
 */
export function pae(payloadType: string, body: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, "utf8");
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `, "ascii"), type, Buffer.from(` ${body.length} `, "ascii"), body]);
}

/** The spec lets signers use standard or URL-safe base64; a verifier must take both. */
export function decodeBase64(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(text)) return undefined;
  return Buffer.from(text.replace(/-/g, "+").replace(/_/g, "/"), "base64");
}

export function signEnvelope(body: Uint8Array, payloadType: string, signer?: Signer): Envelope {
  const signatures = signer ? [{ keyid: signer.keyid, sig: signer.sign(pae(payloadType, body)).toString("base64") }] : [];
  return { payloadType, payload: Buffer.from(body).toString("base64"), signatures };
}

/** Parses an envelope; undefined plus the reason when the text is not one. */
export function parseEnvelope(text: string): { envelope?: Envelope; problem?: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { problem: "not JSON" };
  }
  const e = value as Partial<Envelope> | null;
  if (!e || typeof e !== "object") return { problem: "not a JSON object" };
  if (typeof e.payloadType !== "string") return { problem: "no payloadType string" };
  if (typeof e.payload !== "string" || decodeBase64(e.payload) === undefined) return { problem: "no base64 payload" };
  if (!Array.isArray(e.signatures)) return { problem: "no signatures array" };
  for (const s of e.signatures as unknown[]) {
    const sig = s as Partial<EnvelopeSignature> | null;
    if (!sig || typeof sig.sig !== "string" || decodeBase64(sig.sig) === undefined) return { problem: "a signature without a base64 sig" };
    if (sig.keyid !== undefined && typeof sig.keyid !== "string") return { problem: "a signature whose keyid is not a string" };
  }
  return { envelope: e as Envelope };
}

export function envelopeBody(envelope: Envelope): Buffer {
  return decodeBase64(envelope.payload) ?? Buffer.alloc(0);
}

/**
 * True when some signature verifies with the key over PAE(payloadType, payload). The keyid is an
 * unauthenticated hint (the spec forbids security decisions on it), so every signature is tried.
 */
export function envelopeVerifies(envelope: Envelope, verifier: Verifier): boolean {
  const message = pae(envelope.payloadType, envelopeBody(envelope));
  return envelope.signatures.some((s) => {
    const sig = decodeBase64(s.sig);
    return sig !== undefined && verifier.verify(message, sig);
  });
}
