// Signed provenance per image: the in-toto/SLSA statement, its DSSE envelope, the keys, the
// build hook that writes it and the checks verify-image runs.
export { INTOTO_PAYLOAD_TYPE, decodeBase64, envelopeVerifies, pae, parseEnvelope, signEnvelope, type Envelope } from "./dsse.js";
export { SIGNING_KEY_ENV, keyIdOf, loadPublicKey, loadSigningKey, signerFromPem, verifierFromPem, type Signer, type Verifier } from "./keys.js";
export { BUILD_TYPE, SLSA_PROVENANCE_V1, STATEMENT_TYPE, amiDocument, buildStatement, type Statement } from "./statement.js";
export { PROVENANCE_SUFFIX, provenancePath, recordProvenance } from "./write.js";
export { verifyImage, type VerifyReport } from "./verify.js";
