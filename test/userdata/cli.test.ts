// `podplane-images user-data` and `vmconfig pack` through the CLI entry point: output, exit codes.
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { resetCliStateAfterEach, runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/temp-dir.js";

const cli = runCli;
resetCliStateAfterEach();

const NODE_ENV = `INSTANCE_ID='i-42'
CLUSTER_ID='c-1'
PROVIDER_KIND='local'
NSTANCE_CA_CERT='-----BEGIN CERTIFICATE-----
AAAA
-----END CERTIFICATE-----'
NSTANCE_SERVER_REGISTRATION_ADDR='10.0.2.2:8443'
`;

describe("podplane-images user-data", () => {
  it("renders the Nstance script with placeholders, and a concrete one from --env-file (script or cloud-config)", async () => {
    const dir = await tempDir("pp-udcli-");
    const keys = path.join(dir, "keys");
    await writeFile(keys, "ssh-ed25519 AAAA one\nssh-ed25519 BBBB two\n");
    const nstance = await cli("user-data", "--provider", "aws", "--aws-account-id", "123456789012", "--ssh-authorized-keys", keys, "--enable-ssm");
    expect(nstance.code, nstance.stderr).toBe(0);
    expect(nstance.stdout.startsWith("#!/bin/bash\n")).toBe(true);
    expect(nstance.stdout).toContain("INSTANCE_ID='{{ .Instance.ID }}'\n");
    expect(nstance.stdout).toContain("PROVIDER_KIND='aws'\n");
    expect(nstance.stdout).toContain("IMMUTABLE_SSH_AUTHORIZED_KEYS='ssh-ed25519 AAAA one\nssh-ed25519 BBBB two'\n");

    const env = path.join(dir, "user-data.env");
    await writeFile(env, NODE_ENV);
    const nonce = path.join(dir, "nonce.jwt");
    await writeFile(nonce, "a.b.c\n");
    const concrete = await cli("user-data", "--env-file", env, "--nonce-file", nonce, "--registration-timeout", "60");
    expect(concrete.code, concrete.stderr).toBe(0);
    expect(concrete.stdout).not.toContain("{{");
    expect(concrete.stdout).toContain("INSTANCE_ID='i-42'\n");
    expect(concrete.stdout).toContain("REGISTRATION_TIMEOUT=60\n");
    expect(concrete.stdout).toContain("<<'NSTANCE_NONCE_JWT'\na.b.c\nNSTANCE_NONCE_JWT\n");
    const cc = await cli("user-data", "--env-file", env, "--format", "cloud-config", "--json");
    expect(cc.code, cc.stderr).toBe(0);
    expect((JSON.parse(cc.stdout) as { userData: string }).userData.startsWith("#cloud-config\n")).toBe(true);
  });

  it("exits 2 naming the bad input", async () => {
    const dir = await tempDir("pp-udcli-");
    const bad = path.join(dir, "bad.env");
    await writeFile(bad, `${NODE_ENV}EVIL='1'\n`);
    const hostileKeys = path.join(dir, "keys");
    await writeFile(hostileKeys, "ssh-ed25519 AAAA {{ .Nonce }}\n");
    const cases: Array<[string[], RegExp]> = [
      [["--env-file", bad], /unknown variable EVIL/],
      [["--provider", "azure"], /argument 'azure' is invalid/],
      [[], /provider kind is required/],
      [["--provider", "aws"], /--aws-account-id/],
      [["--provider", "aws", "--aws-account-id", "12345678901'"], /--aws-account-id: a single-line value may not contain '/],
      [["--provider", "google", "--google-project-id", "x"], /Google project ID "x"/],
      [["--provider", "local", "--enable-ssm"], /--enable-ssm applies to provider aws only/],
      [["--provider", "local", "--ssh-authorized-keys", hostileKeys], /--ssh-authorized-keys: contains \{\{/],
      [["--provider", "local", "--ssh-authorized-keys", path.join(dir, "missing")], /cannot read --ssh-authorized-keys/],
      [["--provider", "local", "--format", "cloud-config"], /cloud-config needs --env-file/],
      [["--provider", "local", "--format", "yaml"], /argument 'yaml' is invalid/],
      [["--provider", "local", "--registration-timeout", "0"], /positive integer/],
      [["--provider", "local", "--nonce-file", bad], /--nonce-file applies with --env-file/],
      [["--env-file", path.join(dir, "missing.env")], /cannot read --env-file/],
    ];
    for (const [args, message] of cases) {
      const result = await cli("user-data", ...args);
      expect(result.code, args.join(" ")).toBe(2);
      expect(result.stderr, args.join(" ")).toMatch(message);
      expect(result.stdout).toBe("");
    }
  });
});

describe("podplane-images vmconfig pack", () => {
  it("prints one JSON document with path, digest and size", async () => {
    const dir = await tempDir("pp-udcli-");
    const out = path.join(dir, "vmconfig.tar.gz");
    const res = await cli("vmconfig", "pack", "--out", out, "--json");
    expect(res.code, res.stderr).toBe(0);
    const doc = JSON.parse(res.stdout) as { path: string; digest: string; size: number };
    expect(doc.path).toBe(out);
    expect(doc.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(doc.size).toBeGreaterThan(1000);
    expect((await cli("vmconfig", "pack")).code).toBe(2);
  });
});
