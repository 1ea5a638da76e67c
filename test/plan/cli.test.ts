// The `plan` command and the selectors shared with `build`: formats, and bad selectors exit 2
// naming the value.
import path from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../pipeline/cli/options.js";
import { parseKinds, parseTargets } from "../../pipeline/cli/options.js";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/temp-dir.js";

const MANIFESTS = path.join(PROJECT_ROOT, "manifests");

describe("selectors", () => {
  it("parse comma lists, dropping duplicates", () => {
    expect(parseKinds("knd, knc,knd")).toEqual(["knd", "knc"]);
    expect(parseTargets("aws,qemu")).toEqual(["aws", "qemu"]);
  });

  it("name every unknown value, and refuse an empty list", () => {
    expect(() => parseKinds("knd,kng,kn")).toThrow(/unknown kind "kng", "kn"; expected a comma-separated list of knd, knc/);
    expect(() => parseTargets("gcp")).toThrow(/unknown target "gcp"/);
    expect(() => parseKinds(" , ")).toThrow(/empty kind list/);
  });

  for (const [command, flag, value] of [
    ["plan", "--kind", "kng"],
    ["plan", "--arch", "riscv64"],
    ["build", "--target", "gcp"],
    ["build", "--kind", "knd,bogus"],
  ] as const) {
    it(`${command} ${flag} ${value} exits 2 naming ${value}`, async () => {
      const result = await runCli(command, flag, value, "--manifests", MANIFESTS);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`"${value.split(",").pop() ?? ""}"`);
    });
  }
});

describe("plan command", () => {
  it("--format github prints one line: the include list of a matrix", async () => {
    const dir = await tempDir("plan-cli-");
    const result = await runCli("plan", "--kind", "knd,knc", "--arch", "amd64", "--target", "qemu,aws", "--manifests", MANIFESTS, "--out", path.join(dir, "out"), "--cache", path.join(dir, "cache"), "--format", "github");
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.endsWith("\n")).toBe(true);
    expect(result.stdout.trimEnd().split("\n")).toHaveLength(1);
    const matrix = JSON.parse(result.stdout) as { include: Array<Record<string, string>> };
    expect(matrix.include.map((e) => `${e.kind}/${e.arch}/${e.target}/${e.status}`)).toEqual(["knd/amd64/aws/build", "knd/amd64/qemu/build", "knc/amd64/aws/build", "knc/amd64/qemu/build"]);
    for (const entry of matrix.include) expect(entry.name).toBe(`podplane-${entry.kind}-debian-13-amd64-${entry.hash?.slice(0, 12) ?? ""}`);
  });

  it("--format json has the shared inputs and every entry; text is a table; nothing is written", async () => {
    const dir = await tempDir("plan-cli-");
    const args = ["plan", "--manifests", MANIFESTS, "--out", path.join(dir, "out"), "--cache", path.join(dir, "cache")];
    const json = await runCli(...args, "--format", "json");
    expect(json.code, json.stderr).toBe(0);
    const doc = JSON.parse(json.stdout) as { inputs: { vmconfigDigest: string; templateDigest: string }; entries: Array<{ kind: string; target: string; action: string }> };
    expect(doc.inputs.vmconfigDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    // Defaults: every kind with a manifest, amd64, qemu.
    expect(doc.entries.map((e) => `${e.kind} ${e.target} ${e.action}`)).toEqual(["knd qemu bake", "knc qemu bake"]);
    const text = await runCli(...args, "--changed-only");
    expect(text.code).toBe(0);
    expect(text.stdout.split("\n")[0]).toMatch(/^KIND\s+ARCH\s+TARGET/);
    const { readdir } = await import("node:fs/promises");
    expect(await readdir(dir)).toEqual([]);
  });

  it("refuses an unknown --format (exit 2)", async () => {
    const result = await runCli("plan", "--format", "yaml", "--manifests", MANIFESTS);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("yaml");
  });
});
