// The vmconfig tables as the TypeScript side reads them: Podplane's names in Podplane's order,
// the CLI's defaults, services with their user and inputs, and clear errors on a broken row.
import { cp, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { MUTABLE_ENV_KEYS } from "../../pipeline/boot/test-env.js";
import { isMutable, loadServices, loadVariables, spansLines } from "../../pipeline/vmconfig/index.js";
import { tempDir, VMCONFIG_TREE } from "./helpers.js";

// podplane/podplane internal/clusterspec/mutable_env.go: the keys the CLI renders, in order.
const CLI_MUTABLE = MUTABLE_ENV_KEYS;
const SEED_ONLY = ["SSH_AUTHORIZED_KEY", "KUBE_API_PORT", "OIDC_CUSTOM_CA", "OIDC_CA_FILE", "NSTANCE_SERVER_REGISTRATION_ADDR", "NSTANCE_SERVER_AGENT_ADDR"];

describe("loadVariables", () => {
  const variables = loadVariables();
  const names = (source: string) => variables.filter((v) => v.source === source).map((v) => v.name);
  const byName = new Map(variables.map((v) => [v.name, v]));

  it("holds the names Podplane's user-data writes (the two server addresses are mutable too), with their Nstance placeholders", () => {
    expect(names("user-data")).toEqual([
      "IMMUTABLE_SSH_AUTHORIZED_KEYS", "INSTANCE_ID", "CLUSTER_ID", "PROVIDER_KIND", "PROVIDER_REGION", "PROVIDER_ZONE",
      "PROVIDER_INSTANCE_TYPE", "AWS_ACCOUNT_ID", "GOOGLE_PROJECT_ID", "NSTANCE_CA_CERT",
    ]);
    expect(byName.get("INSTANCE_ID")?.template).toBe("{{ .Instance.ID }}");
    expect(byName.get("NSTANCE_CA_CERT")?.template).toBe("{{ .Cluster.CACert }}");
    expect(byName.get("NSTANCE_SERVER_REGISTRATION_ADDR")).toMatchObject({ source: "mutable", required: true, template: "{{ .Server.RegistrationAddr }}" });
    expect(byName.get("PROVIDER_KIND")).toMatchObject({ required: true, template: undefined });
    expect(variables.filter(spansLines).map((v) => v.name)).toEqual(["IMMUTABLE_SSH_AUTHORIZED_KEYS", "NSTANCE_CA_CERT"]);
  });

  it("holds Podplane's detected names in its order", () => {
    expect(names("detected")).toEqual([
      "VMCONFIG_KIND", "VMCONFIG_BASE_KIND", "INSTANCE_PROVIDER_ID", "INSTANCE_IPV4", "INSTANCE_IPV6", "INSTANCE_NETDEV", "INSTANCE_HOSTNAME", "INSTANCE_FQDN",
    ]);
  });

  it("holds the CLI's 39 mutable keys in the CLI's order, then the seed's 6", () => {
    expect(variables.filter(isMutable).map((v) => v.name)).toEqual([...CLI_MUTABLE, ...SEED_ONLY]);
  });

  it("has the CLI's and vmconfig's defaults, and none of the invented names", () => {
    const defaults = Object.fromEntries(variables.filter((v) => v.default !== undefined).map((v) => [v.name, v.default]));
    expect(defaults).toMatchObject({
      KUBE_LOG_LEVEL: "2", KUBE_API_PORT: "6443", KUBE_CLUSTER_CIDR: "100.64.0.0/10,fd64::/48", KUBE_NODE_CIDR_MASK_SIZE_IPV4: "24",
      KUBE_NODE_CIDR_MASK_SIZE_IPV6: "64", KUBE_SERVICE_CLUSTER_IP_RANGE: "198.18.0.0/15,fdc6::/108", KUBE_CLUSTER_DNS: "198.19.255.254,fdc6::ffff",
      OIDC_SIGNING_ALGS: "RS256", TELEMETRY_ENABLED: "false", TELEMETRY_LOG_CLOUDINIT: "true", REGISTRY_ENABLED: "true",
      KUBE_API_ETCD_SERVERS: "https://127.0.0.1:2378",
    });
    for (const gone of ["PODPLANE_KIND", "PROVIDER", "NSTANCE_CA", "NSTANCE_NONCE_JWT", "NODE_HOSTNAME", "NODE_IPV4", "NODE_IPV6"]) expect(byName.has(gone)).toBe(false);
    expect(names("internal")).toEqual(["OIDC_CA_FILE_EFFECTIVE"]);
  });

  it("refuses a row with an unknown source or a missing column, naming it", async () => {
    const dir = await tempDir("pp-data-");
    await cp(VMCONFIG_TREE, dir, { recursive: true });
    const file = path.join(dir, "opt/podplane/share/variables.tsv");
    await writeFile(file, "X\tsettable\tword\tno\t-\t-\n");
    expect(() => loadVariables(dir)).toThrow(/X: unknown source 'settable'/);
    await writeFile(file, "X\tmutable\tword\n");
    expect(() => loadVariables(dir)).toThrow(/line 1: expected 6 tab-separated columns, found 3/);
  });
});

describe("loadServices", () => {
  it("reads service, kinds, when, user, variables and inputs; every variable is a known one", () => {
    const services = loadServices();
    const known = new Set(loadVariables().map((v) => v.name));
    expect(services.length).toBeGreaterThan(0);
    for (const s of services) {
      expect(s.user).toMatch(/^[a-z][a-z0-9-]*$/);
      expect(s.when === "always" || /^[A-Z_]+=.+$/.test(s.when)).toBe(true);
      for (const v of s.variables) expect(known.has(v), `${s.name}: ${v}`).toBe(true);
      for (const p of s.inputs) expect(p.startsWith("/"), `${s.name}: ${p}`).toBe(true);
    }
  });

  it("reads '-' as an empty list", async () => {
    const dir = await tempDir("pp-data-");
    await cp(VMCONFIG_TREE, dir, { recursive: true });
    await writeFile(path.join(dir, "opt/podplane/share/services.tsv"), "svc\tknd\talways\troot\t-\t/opt/crt/a.crt,/etc/b.conf\n");
    expect(loadServices(dir)).toEqual([{ name: "svc", kinds: ["knd"], when: "always", user: "root", variables: [], inputs: ["/opt/crt/a.crt", "/etc/b.conf"] }]);
  });
});
