// The CLI's top level: exit codes for help, usage errors, and a reader that closes the pipe early.
import { chmod, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { buildProgram, commandNamed } from "../../pipeline/cli/main.js";
import { COMMANDS } from "../../pipeline/commands/index.js";
import { fetchArtifacts } from "../../pipeline/fetch/index.js";
import { loadManifests } from "../../pipeline/manifest/index.js";
import { artifact, serveOnMirror, tempDir, writeManifest } from "../fetch/helpers.js";
import { startFixtureServer } from "../fixtures/http-server.js";

const CLI = path.resolve(import.meta.dirname, "../../bin/podplane-images.js");

describe("podplane-images (top level)", () => {
  it("prints help listing every command and exits 0", async () => {
    const result = await execa(CLI, ["--help"], { reject: false });
    expect(result.exitCode).toBe(0);
    for (const command of ["fetch", "verify", "pin", "mirror", "vmconfig", "user-data", "build", "inspect", "test-image"]) {
      expect(result.stdout).toMatch(new RegExp(`^  ${command}\\b`, "m"));
    }
  });

  it("names each command in the root help with the summary its own module describes it by", async () => {
    for (const entry of COMMANDS) {
      const command = (await entry.load()).register(new Command("t"));
      expect(command.name(), entry.name).toBe(entry.name);
      expect(command.description(), entry.name).toBe(entry.summary);
    }
    const full = await buildProgram();
    expect(full.commands.map((c) => c.name())).toEqual(COMMANDS.map((e) => e.name));
  });

  it("loads only the command a command line names", () => {
    expect(commandNamed(["fetch", "--kind", "knc"])?.name).toBe("fetch");
    expect(commandNamed(["--json", "verify"])?.name).toBe("verify");
    expect(commandNamed(["help", "build"])?.name).toBe("build");
    expect(commandNamed(["--help"])).toBeUndefined();
    expect(commandNamed(["bake-everything"])).toBeUndefined();
  });

  it("exits 2 with one clear line for an unknown command or flag", async () => {
    const unknown = await execa(CLI, ["bake-everything"], { reject: false });
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'bake-everything'");
    const badFlag = await execa(CLI, ["fetch", "--kind", "knx"], { reject: false });
    expect(badFlag.exitCode).toBe(2);
    expect(badFlag.stderr).toContain('unknown kind "knx"');
  });

  it("stops quietly when the reader closes the pipe early (| head)", async () => {
    for (let attempt = 0; attempt < 3; attempt++) {
      const result = await execa("bash", ["-c", `"${CLI}" fetch --help | true; echo "rc=\${PIPESTATUS[0]}" >&2`], { reject: false });
      expect(result.stderr).toBe("rc=0");
    }
  });

  /** Runs `cli args | reader` under pipefail and returns the CLI's own exit status. */
  async function piped(args: string, reader: string): Promise<number> {
    const result = await execa("bash", ["-c", `set -o pipefail; "${CLI}" ${args} | ${reader} >/dev/null; echo "rc=\${PIPESTATUS[0]}" >&2`], { reject: false, env: { CI: "1" } });
    const rc = /rc=(\d+)/.exec(result.stderr)?.[1];
    if (rc === undefined) throw new Error(`no exit status: ${result.stderr}`);
    return Number(rc);
  }

  it("keeps 1 for a failed run and 2 for bad usage when the reader closes the pipe", async () => {
    const dir = await tempDir("pp-pipe-");
    const manifestsDir = path.join(dir, "manifests");
    const cacheDir = path.join(dir, "cache");
    const kubelet = artifact("kubelet", "amd64", 4_000);
    const apiserver = artifact("kube-apiserver", "amd64", 4_000);
    await writeManifest(manifestsDir, "knc", "amd64", [kubelet, apiserver]);
    const upstream = await startFixtureServer();
    serveOnMirror(upstream, [kubelet, apiserver]);
    const summary = await fetchArtifacts({ manifests: await loadManifests(manifestsDir), cacheDir, mirror: upstream.url });
    await upstream.close();
    const entry = summary.artifacts.find((a) => a.name === "kubelet")?.path ?? "";
    await chmod(entry, 0o644);
    const bytes = await readFile(entry);
    bytes[0] = (bytes[0] ?? 0) ^ 1;
    await writeFile(entry, bytes);

    const verify = `verify --manifests "${manifestsDir}" --cache "${cacheDir}" --kind knc 2>&1`;
    // `true` has closed the pipe before the CLI writes anything: every write meets EPIPE.
    for (const reader of ["head -1", "true"]) {
      expect(await piped(verify, reader), `verify | ${reader}`).toBe(1);
      expect(await piped(`${verify.replace(" 2>&1", "")} --json`, reader), `verify --json | ${reader}`).toBe(1);
      expect(await piped("fetch --kind knx 2>&1", reader), `bad usage | ${reader}`).toBe(2);
      expect(await piped("user-data --provider nowhere 2>&1", reader), `user-data bad provider | ${reader}`).toBe(2);
      expect(await piped("fetch --help", reader), `help | ${reader}`).toBe(0);
    }
  });
});
