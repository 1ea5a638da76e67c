// DSSE: the pre-authentication encoding against the spec's own example (PAE bytes, and the
// spec's ECDSA P-256 signature over them verified with the spec's key), signing and verifying
// with both key types, and what must not verify.
import { createHash, createPrivateKey, createPublicKey, sign } from "node:crypto";
import { execFileSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { decodeBase64, envelopeVerifies, INTOTO_PAYLOAD_TYPE, pae, parseEnvelope, signEnvelope } from "../../pipeline/provenance/dsse.js";
import { keyIdOf, signerFromPem, verifierFromPem } from "../../pipeline/provenance/keys.js";
import { tempDir } from "../helpers/temp-dir.js";
import { writeKeyPair } from "./fixtures.js";

/** A non-negative decimal integer as `bytes` big-endian bytes, base64url (a JWK coordinate). */
function jwkCoordinate(decimal: string, bytes = 32): string {
  return Buffer.from(BigInt(decimal).toString(16).padStart(bytes * 2, "0"), "hex").toString("base64url");
}

// secure-systems-lab/dsse protocol.md, "Test Vectors" (ECDSA P-256, SHA-256, RFC 6979, r‖s).
const SPEC = {
  payloadType: "http://example.com/HelloWorld",
  body: "hello world",
  pae: "DSSEv1 29 http://example.com/HelloWorld 11 hello world",
  x: "46950820868899156662930047687818585632848591499744589407958293238635476079160",
  y: "5640078356564379163099075877009565129882514886557779369047442380624545832820",
  d: "97358161215184420915383655311931858321456579547487070936769975997791359926199",
  envelope: { payload: "aGVsbG8gd29ybGQ=", payloadType: "http://example.com/HelloWorld", signatures: [{ sig: "A3JqsQGtVsJ2O2xqrI5IcnXip5GToJ3F+FnZ+O88SjtR6rDAajabZKciJTfUiHqJPcIAriEGAHTVeCUjW2JIZA==" }] },
};

function specPublicPem(): string {
  return createPublicKey({ key: { kty: "EC", crv: "P-256", x: jwkCoordinate(SPEC.x), y: jwkCoordinate(SPEC.y) }, format: "jwk" }).export({ type: "spki", format: "pem" }).toString();
}

describe("PAE", () => {
  it("encodes the spec's example byte for byte", () => {
    expect(pae(SPEC.payloadType, Buffer.from(SPEC.body)).toString("latin1")).toBe(SPEC.pae);
  });

  it("counts bytes, not characters, and takes an empty body", () => {
    // "é" is two bytes in UTF-8; "ü" likewise in the body.
    expect(pae("application/é", Buffer.from("ü", "utf8"))).toEqual(Buffer.concat([Buffer.from("DSSEv1 14 application/"), Buffer.from("é", "utf8"), Buffer.from(" 2 "), Buffer.from("ü", "utf8")]));
    expect(pae(INTOTO_PAYLOAD_TYPE, Buffer.alloc(0)).toString()).toBe("DSSEv1 28 application/vnd.in-toto+json 0 ");
  });

  it("the spec's signature verifies over our PAE with the spec's key; a changed body does not", () => {
    // The key is consistent: d gives the public point X, Y.
    const priv = createPrivateKey({ key: { kty: "EC", crv: "P-256", x: jwkCoordinate(SPEC.x), y: jwkCoordinate(SPEC.y), d: jwkCoordinate(SPEC.d) }, format: "jwk" });
    expect(createPublicKey(priv).export({ format: "jwk" })).toMatchObject({ x: jwkCoordinate(SPEC.x), y: jwkCoordinate(SPEC.y) });
    const verifier = verifierFromPem(specPublicPem(), "spec key");
    const { envelope } = parseEnvelope(JSON.stringify(SPEC.envelope));
    expect(envelope).toBeDefined();
    if (!envelope) return;
    expect(envelopeVerifies(envelope, verifier)).toBe(true);
    expect(envelopeVerifies({ ...envelope, payload: Buffer.from("hello world!").toString("base64") }, verifier)).toBe(false);
    expect(envelopeVerifies({ ...envelope, payloadType: "http://example.com/Other" }, verifier)).toBe(false);
    // The same signature in URL-safe base64 is accepted too (the spec requires both).
    const urlSafe = { ...envelope, signatures: [{ sig: Buffer.from(envelope.signatures[0]?.sig ?? "", "base64").toString("base64url") }] };
    expect(envelopeVerifies(urlSafe, verifier)).toBe(true);
  });
});

describe("signing and verifying envelopes", () => {
  for (const type of ["ed25519", "ecdsa-p256"] as const) {
    it(`${type}: signs PAE(payloadType, body); the envelope verifies with the public key and only with it`, async () => {
      const dir = await tempDir("dsse-");
      const keys = await writeKeyPair(dir, type);
      const other = await writeKeyPair(dir, type, "other");
      const signer = signerFromPem(keys.privatePem, "test key");
      const verifier = verifierFromPem(execFileSync("openssl", ["pkey", "-in", keys.privateKey, "-pubout"]).toString(), "openssl's public half");
      const body = Buffer.from(JSON.stringify({ hello: "world" }));
      const envelope = signEnvelope(body, INTOTO_PAYLOAD_TYPE, signer);
      expect(envelope.payloadType).toBe(INTOTO_PAYLOAD_TYPE);
      expect(Buffer.from(envelope.payload, "base64")).toEqual(body);
      expect(envelope.signatures).toHaveLength(1);
      expect(envelopeVerifies(envelope, verifier)).toBe(true);
      // keyid: sha256 of the SPKI DER, as openssl computes it independently.
      const der = execFileSync("openssl", ["pkey", "-in", keys.privateKey, "-pubout", "-outform", "DER"]);
      expect(envelope.signatures[0]?.keyid).toBe(createHash("sha256").update(der).digest("hex"));
      expect(signer.keyid).toBe(verifier.keyid);
      const sig = Buffer.from(envelope.signatures[0]?.sig ?? "", "base64");
      if (type === "ecdsa-p256") {
        // DER: a SEQUENCE (short-form length) of two INTEGERs.
        expect(sig[0]).toBe(0x30);
        expect(sig[1]).toBe(sig.length - 2);
      } else {
        expect(sig).toHaveLength(64);
      }
      const wrong = verifierFromPem(execFileSync("openssl", ["pkey", "-in", other.privateKey, "-pubout"]).toString(), "other");
      expect(envelopeVerifies(envelope, wrong)).toBe(false);
      const forged = { ...envelope, payload: Buffer.from(JSON.stringify({ hello: "mallory" })).toString("base64") };
      expect(envelopeVerifies(forged, verifier)).toBe(false);
    });
  }

  it("an ECDSA signature checks out with openssl over the PAE bytes (DER, SHA-256)", async () => {
    const dir = await tempDir("dsse-openssl-");
    const keys = await writeKeyPair(dir, "ecdsa-p256");
    const envelope = signEnvelope(Buffer.from("payload"), INTOTO_PAYLOAD_TYPE, signerFromPem(keys.privatePem, "k"));
    await writeFile(path.join(dir, "pae"), pae(INTOTO_PAYLOAD_TYPE, Buffer.from("payload")));
    await writeFile(path.join(dir, "sig"), Buffer.from(envelope.signatures[0]?.sig ?? "", "base64"));
    const out = execFileSync("openssl", ["dgst", "-sha256", "-verify", keys.publicKey, "-signature", path.join(dir, "sig"), path.join(dir, "pae")]).toString();
    expect(out.trim()).toBe("Verified OK");
  });

  it("ECDSA: an IEEE-P1363 (r‖s) signature is accepted as well as DER", async () => {
    const dir = await tempDir("dsse-p1363-");
    const keys = await writeKeyPair(dir, "ecdsa-p256");
    const message = pae(INTOTO_PAYLOAD_TYPE, Buffer.from("x"));
    const raw = sign("sha256", message, { key: createPrivateKey(keys.privatePem), dsaEncoding: "ieee-p1363" });
    const verifier = verifierFromPem(createPublicKey(keys.privatePem).export({ type: "spki", format: "pem" }).toString(), "k");
    expect(verifier.verify(message, raw)).toBe(true);
    expect(verifier.verify(message, Buffer.alloc(64))).toBe(false);
    expect(verifier.verify(message, Buffer.from("garbage"))).toBe(false);
    expect(keyIdOf(createPublicKey(keys.privatePem))).toBe(verifier.keyid);
  });

  it("an unsigned envelope has no signatures and verifies with no key", () => {
    const envelope = signEnvelope(Buffer.from("{}"), INTOTO_PAYLOAD_TYPE);
    expect(envelope.signatures).toEqual([]);
  });

  it("parseEnvelope names what is wrong", () => {
    expect(parseEnvelope("nope").problem).toBe("not JSON");
    expect(parseEnvelope("{}").problem).toBe("no payloadType string");
    expect(parseEnvelope(JSON.stringify({ payloadType: "t", payload: "%%%", signatures: [] })).problem).toBe("no base64 payload");
    expect(parseEnvelope(JSON.stringify({ payloadType: "t", payload: "", signatures: [{}] })).problem).toBe("a signature without a base64 sig");
    expect(decodeBase64("aGk")).toEqual(Buffer.from("hi"));
  });
});
