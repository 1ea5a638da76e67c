// A checksum file upstream clear-signs with PGP (runc's runc.sha256sum): the signature is
// checked against the keyring pinned in trust/<name>, and only the text it covers is handed on
// to the checksum parser. Read from the mirror like any other bytes when one is set: the
// signature, not the server, is what vouches for it.
import type { PinCheck } from "../pin/checks.js";
import { loadKeyring, verifyClearSigned } from "./pgp.js";

export async function verifySignedChecksumFile(
  text: string,
  options: { label: string; /** Where it was read (messages). */ source: string; /** Its upstream URL (the check's source). */ url: string; trustDir: string; keyring: string },
): Promise<{ text: string; checks: PinCheck[] }> {
  const keyring = await loadKeyring(options.trustDir, options.keyring);
  const verified = await verifyClearSigned(text, keyring, { label: options.label, source: options.source });
  return {
    text: verified.text,
    checks: verified.fingerprints.map((key) => ({ kind: "signature", detail: `checksum file signed by ${key}`, source: options.url, trustRoot: keyring.name, key })),
  };
}
