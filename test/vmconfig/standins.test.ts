// install.sh + the slim user-data + configure.sh + the run-wrappers against the strict stand-in
// artifacts (upstream names and layouts; each checks its binary's flags, files and configs), in a
// temporary PODPLANE_ROOT with stub systemctl/dpkg: every service of knc (and zot) gets through its
// binary's flag parsing and config loading. PODPLANE_STANDIN_ROOT makes the stand-ins look up the
// absolute VM paths they are given under PODPLANE_ROOT. The real-VM version of this is the boot test.
import { execFileSync, spawn } from "node:child_process";
import { access, copyFile, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { renderUserData } from "../../pipeline/userdata/index.js";
import { generateStandinMirror } from "../fixtures/standins/index.js";
import { REPO, tempDir, VMCONFIG_TREE } from "./helpers.js";

async function waitFor(file: string, exited: () => number | null, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (exited() !== null) return;
    if (await stat(file).then(() => true, () => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The service's run-wrapper: its room (services/<svc>/run.sh), else the older libexec/run-<svc>.sh. */
async function wrapperOf(root: string, service: string): Promise<string> {
  const room = path.join(root, "opt/podplane/services", service, "run.sh");
  return (await access(room).then(() => true, () => false)) ? room : path.join(root, "opt/podplane/libexec", `run-${service}.sh`);
}

describe("vmconfig with the stand-in artifacts", () => {
  it("installs a knc stage, configures from the rendered user-data, and every wrapper satisfies its stand-in", async () => {
    const dir = await tempDir("pp-standin-");
    const root = path.join(dir, "root");
    const stage = path.join(dir, "stage");
    const bin = path.join(dir, "bin");
    const standinDir = path.join(dir, "standin");
    const mirror = await generateStandinMirror({ dir: path.join(dir, "gen"), kinds: ["knc"], arches: ["amd64"] });
    const lines: string[] = [];
    for (const a of mirror.artifacts.filter((x) => x.arch === "amd64").sort((x, y) => x.name.localeCompare(y.name))) {
      const rel = `artifacts/${a.name}/${path.basename(new URL(a.url).pathname)}`;
      await mkdir(path.join(stage, "artifacts", a.name), { recursive: true });
      await copyFile(a.path, path.join(stage, rel));
      lines.push([a.name, a.version, a.type, a.digest, rel].join("\t"));
    }
    await writeFile(path.join(stage, "artifacts.tsv"), `${lines.join("\n")}\n`);

    const env = { ...process.env, PODPLANE_ROOT: root, STUB_LOG: path.join(dir, "calls.log"), STUB_STATE: path.join(dir, "state"), PATH: `${bin}:${process.env.PATH}` };
    execFileSync("bash", ["-c", `source "${REPO}/test/bats/helpers/stubs.bash" && make_stubs "${bin}"`], { env });
    // dpkg stand-in: unpack the .debs into the root so fluent-bit's binary is there.
    await writeFile(path.join(bin, "dpkg"), `#!/bin/bash\necho "dpkg $*" >>"$STUB_LOG"\nfor a in "$@"; do [[ $a == *.deb ]] && dpkg-deb -x "$a" "$PODPLANE_ROOT"; done; exit 0\n`);
    execFileSync("bash", [path.join(VMCONFIG_TREE, "opt/podplane/bin/install.sh"), "knc", stage], { env, stdio: "pipe" });

    const userData = renderUserData({
      kind: "knc",
      format: "script",
      placeholders: false,
      env: [
        ["PROVIDER", "qemu"],
        ["INSTANCE_ID", "i-standin"],
        ["CLUSTER_ID", "standin"],
        ["NSTANCE_SERVER_REGISTRATION_ADDR", "nstance.invalid:8443"],
        ["REGISTRY_ENABLED", "true"],
        ["REGISTRY_BUCKET", "registry"],
      ],
    });
    execFileSync("bash", ["-c", userData.replaceAll("/opt/podplane/", `${root}/opt/podplane/`)], { env, stdio: "pipe" });
    const calls = await readFile(env.STUB_LOG, "utf8");
    const started = [...calls.matchAll(/^systemctl start (\S+)\.service$/gm)].map((m) => m[1] ?? "").sort();
    expect(started).toEqual(["containerd", "fluent-bit", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "netsy", "nstance-agent", "zot"]);

    for (const service of started) {
      const binary = service === "zot" ? "zot" : service;
      const child = spawn(
        "bash",
        ["-c", 'set -a; source "$1"; set +a; exec "$2"', "_", path.join(root, "opt/env", `${service}.env`), await wrapperOf(root, service)],
        {
          env: { PATH: process.env.PATH, PODPLANE_ROOT: root, PODPLANE_STANDIN_ROOT: root, PODPLANE_STANDIN_DIR: standinDir, RUNTIME_DIRECTORY: path.join(dir, "run", service) },
          stdio: ["ignore", "ignore", "pipe"],
        },
      );
      let stderr = "";
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      await waitFor(path.join(standinDir, `${binary}.starts`), () => child.exitCode);
      const exitCode = child.exitCode;
      child.kill("SIGTERM");
      await new Promise((r) => child.once("close", r));
      expect(exitCode, `${service}: ${stderr}`).toBeNull();
      const args = await readFile(path.join(standinDir, `${binary}.args`), "utf8");
      expect(args.length, service).toBeGreaterThan(0);
    }
    const apiserver = await readFile(path.join(standinDir, "kube-apiserver.args"), "utf8");
    expect(apiserver).toMatch(/^--etcd-servers=https?:\/\/127\.0\.0\.1:2378$/m);
  }, 180_000);
});
