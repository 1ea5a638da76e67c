// What `pin` checked for each artifact, reported per artifact by `pin --json` and in its text
// output. One shape for every kind of upstream trust: a checksum file (or apt index) that names
// the digest, a signature over that file (PGP here, Sigstore for Kubernetes and kube2iam), and an
// identity (the expected signer of a keyless Sigstore certificate).

export type PinCheckKind = "digest-file" | "signature" | "identity";

export interface PinCheck {
  kind: PinCheckKind;
  /** One line for a human: what was checked against what. */
  detail: string;
  /** The file the check read (checksum file, InRelease, Packages index, .sig/.bundle); redacted like every URL we print. */
  source?: string | undefined;
  /** signature: the trust root that verified it (`trust/debian`, `trust/runc`, a Sigstore root). */
  trustRoot?: string | undefined;
  /** signature: the signing key's fingerprint (PGP: the primary key's). */
  key?: string | undefined;
  /** identity: the signer identity that matched (certificate subject and OIDC issuer). */
  identity?: string | undefined;
}

/** `digest-file (runc.sha256sum), signature (trust/runc, key 5F36...)`: the text form of a check list. */
export function describeChecks(checks: readonly PinCheck[]): string {
  return checks
    .map((check) => {
      if (check.kind === "signature") return `signature (${[check.trustRoot, check.key ? `key ${check.key}` : undefined].filter(Boolean).join(", ")})`;
      if (check.kind === "identity") return `identity (${check.identity ?? check.detail})`;
      return `digest-file (${check.detail})`;
    })
    .join(", ");
}
