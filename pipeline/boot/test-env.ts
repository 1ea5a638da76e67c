// The test user-data.env a boot test launches with, and the deliveries it sends the running VM.
// Values are fake but well-formed (they pass vmconfig's value checks); secrets are present so
// the 0600 rule is exercised; REGISTRY_ENABLED=true so zot runs too.
import type { Kind } from "../manifest/schema.js";
import { GUEST } from "./checks.js";

export type Provider = "qemu" | "aws";

export type EnvPairs = Array<[string, string]>;

export function testUserDataEnv(kind: Kind, provider: Provider): EnvPairs {
  const env: EnvPairs = [
    ["PODPLANE_KIND", kind],
    ["PROVIDER", provider],
    ["INSTANCE_ID", "i-0b00757e57"],
    ["CLUSTER_ID", "boot-test"],
    ["PROVIDER_REGION", "local-1"],
    ["NSTANCE_NONCE_JWT", "eyJhbGciOiJub25lIn0.eyJub25jZSI6ImJvb3QtdGVzdCJ9."],
    ["NSTANCE_CA", "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tdGVzdA=="],
    ["NSTANCE_SERVER_REGISTRATION_ADDR", "nstance.boot-test.invalid:8443"],
    ["NSTANCE_SERVER_AGENT_ADDR", "nstance.boot-test.invalid:8444"],
    ["KUBE_API_PUBLIC_HOSTNAME", "api.boot-test.invalid"],
    ["OIDC_ISSUER", "https://oidc.boot-test.invalid"],
    ["REGISTRY_ENABLED", "true"],
    ["REGISTRY_HOSTNAME", "registry.boot-test.invalid"],
    ["REGISTRY_ENDPOINT", "https://s3.boot-test.invalid"],
    ["REGISTRY_BUCKET", "registry"],
    ["REGISTRY_REGION", "local-1"],
    ["REGISTRY_ACCESS_KEY_ID", "AKIABOOTTESTREGISTRY"],
    ["REGISTRY_SECRET_ACCESS_KEY", "boot-test-registry-secret"],
  ];
  if (kind === "knc") {
    env.push(
      ["NETSY_ENDPOINT", "https://s3.boot-test.invalid"],
      ["NETSY_BUCKET", "netsy"],
      ["NETSY_REGION", "local-1"],
      ["NETSY_ACCESS_KEY_ID", "AKIABOOTTESTNETSY"],
      ["NETSY_SECRET_ACCESS_KEY", "boot-test-netsy-secret"],
    );
  }
  return env;
}

/** A valid live update: the log level and the OIDC issuer change. */
export const LIVE_UPDATE: EnvPairs = [
  ["KUBE_LOG_LEVEL", "4"],
  ["OIDC_ISSUER", "https://oidc-rotated.boot-test.invalid"],
];

/** Invalid deliveries, each sent on its own: an unknown key, and a command substitution in a value. Each must be refused whole. */
export const INVALID_UPDATES: ReadonlyArray<{ label: string; content: string }> = [
  { label: "unknown key", content: "KUBE_LOG_LEVEL=6\nNOT_A_PODPLANE_VARIABLE=1\n" },
  { label: "command substitution", content: `KUBE_LOG_LEVEL=6\nOIDC_ISSUER=$(touch ${GUEST.injectionMarker})\n` },
];
