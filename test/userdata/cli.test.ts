// `podplane-images user-data` and `vmconfig pack` through the CLI entry point: output, exit codes.
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { resetCliStateAfterEach, runCli } from "../helpers/cli.js";
import { tempDir } from "../vmconfig/helpers.js";

const cli = runCli;
resetCliStateAfterEach();

describe("podplane-images user-data", () => {
  it("renders a script by default and cloud-config on request, with the env file's values", async () => {
    const dir = await tempDir("pp-udcli-");
    const env = path.join(dir, "node.env");
    await writeFile(env, "# test node\nINSTANCE_ID=i-42\nKUBE_LOG_LEVEL='3'\n");
    const script = await cli("user-data", "--kind", "knd", "--env-file", env);
    expect(script.code, script.stderr).toBe(0);
    expect(script.stdout.startsWith("#!/bin/bash\n")).toBe(true);
    expect(script.stdout).toContain("INSTANCE_ID='i-42'\n");
    expect(script.stdout).toContain("KUBE_LOG_LEVEL='3'\n");
    const cc = await cli("user-data", "--kind", "knc", "--format", "cloud-config", "--no-placeholders");
    expect(cc.code, cc.stderr).toBe(0);
    expect(cc.stdout.startsWith("#cloud-config\n")).toBe(true);
    expect(cc.stdout).not.toContain("{{");
  });

  it("exits 2 on an unknown variable, a bad kind or format, a missing env file", async () => {
    const dir = await tempDir("pp-udcli-");
    const env = path.join(dir, "bad.env");
    await writeFile(env, "INSTANCE_ID=i-1\nEVIL=1\n");
    const unknown = await cli("user-data", "--kind", "knd", "--env-file", env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown variable EVIL");
    expect(unknown.stdout).toBe("");
    expect((await cli("user-data", "--kind", "kxx")).code).toBe(2);
    expect((await cli("user-data", "--kind", "knd", "--format", "yaml")).code).toBe(2);
    expect((await cli("user-data", "--kind", "knd", "--env-file", path.join(dir, "missing.env"))).code).toBe(2);
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
