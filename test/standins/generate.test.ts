import { execFile, spawn } from "node:child_process";
import { access, readFile, stat, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import path from "node:path";
import { promisify } from "node:util";
import * as tar from "tar";
import { describe, expect, it } from "vitest";
import { loadManifests } from "../../pipeline/manifest/index.js";
import { generateStandinMirror, renderStandinProgram, STANDIN_INTERPRETER, type StandinArtifact } from "../fixtures/standins/index.js";
import { hashFile } from "../fixtures/standins/write.js";
import { tempDir } from "../helpers/temp-dir.js";

const run = promisify(execFile);

function find(artifacts: readonly StandinArtifact[], name: string): StandinArtifact {
  const artifact = artifacts.find((a) => a.name === name);
  if (!artifact) throw new Error(`no stand-in for ${name}`);
  return artifact;
}

async function tarMembers(file: string): Promise<string[]> {
  const members: string[] = [];
  await tar.list({ file, onReadEntry: (entry) => members.push(entry.path) });
  return members;
}

describe("generateStandinMirror", { timeout: 120_000 }, () => {
  it("writes every dependency at <host>/<path> with upstream's layout, and manifests that pin the stand-ins", async () => {
    const dir = await tempDir();
    const mirror = await generateStandinMirror({ dir, kinds: ["knd", "knc"], arches: ["amd64"] });

    const kubelet = find(mirror.artifacts, "kubelet");
    expect(kubelet.path).toBe(path.join(dir, "mirror/dl.k8s.io/release/v1.36.1/bin/linux/amd64/kubelet"));
    expect(find(mirror.artifacts, "runc").path).toMatch(/opencontainers\/runc\/releases\/download\/v1\.4\.2\/runc\.amd64$/);
    expect(find(mirror.artifacts, "libpq5").path).toMatch(/libpq5_17\.9-0\+deb13u1_amd64\.deb$/);
    expect(mirror.artifacts.map((a) => a.name)).not.toContain("vmconfig");
    expect(mirror.mirrorUrlFor("http://127.0.0.1:8080/", kubelet.url)).toBe("http://127.0.0.1:8080/dl.k8s.io/release/v1.36.1/bin/linux/amd64/kubelet");

    expect(await tarMembers(find(mirror.artifacts, "containerd").path)).toEqual(["bin/", "bin/containerd", "bin/containerd-shim-runc-v2", "bin/ctr"]);
    const cni = await tarMembers(find(mirror.artifacts, "cni-plugins").path);
    expect(cni).toEqual(expect.arrayContaining(["./bridge", "./host-local", "./loopback", "./portmap"]));
    expect(cni.every((m) => m.startsWith("./") && !m.slice(2).includes("/"))).toBe(true);
    expect(await tarMembers(find(mirror.artifacts, "netsy").path)).toEqual(["LICENSE", "netsy", "README.md"]);
    expect(await tarMembers(find(mirror.artifacts, "kube2iam").path)).toEqual(["kube2iam"]);

    const fluentBit = find(mirror.artifacts, "fluent-bit").path;
    const { stdout: contents } = await run("dpkg-deb", ["-c", fluentBit]);
    expect(contents).toMatch(/-rwxr-xr-x root\/root .* \.\/opt\/fluent-bit\/bin\/fluent-bit\n/);
    const { stdout: control } = await run("dpkg-deb", ["-f", fluentBit, "Package", "Version", "Architecture", "Depends"]);
    expect(control).toBe("Package: fluent-bit\nVersion: 5.0.5\nArchitecture: amd64\nDepends: libpq5\n");
    const { stdout: uidmap } = await run("dpkg-deb", ["-f", find(mirror.artifacts, "uidmap").path, "Package", "Version"]);
    expect(uidmap).toBe("Package: uidmap\nVersion: 4.17.4-2\n");

    const manifests = await loadManifests(mirror.manifestsDir);
    expect(manifests.map((m) => `${m.kind}.${m.arch}`)).toEqual(["knc.amd64", "knd.amd64"]);
    for (const manifest of manifests) {
      expect(manifest.baseImage.url).toMatch(/^https:\/\/cloud\.debian\.org\//);
      for (const dep of manifest.dependencies.filter((d) => !d.local)) {
        const artifact = find(mirror.artifacts, dep.name);
        expect(dep.url).toBe(artifact.url);
        expect(dep.size).toBe((await stat(artifact.path)).size);
        const [algorithm, hex] = dep.digest.split(":") as ["sha256" | "sha512", string];
        expect(await hashFile(artifact.path, algorithm)).toBe(hex);
      }
      expect(manifest.dependencies.find((d) => d.name === "kube2iam")?.digest).toMatch(/^sha512:/);
      expect(manifest.dependencies.find((d) => d.name === "netsy")?.digest ?? "sha512:").toMatch(/^sha512:/);
    }
    expect(manifests.find((m) => m.kind === "knd")?.dependencies.map((d) => d.name)).not.toContain("kube-apiserver");
  });

  it("is deterministic and pads (incompressibly) to the requested total in proportion to upstream sizes", async () => {
    const padBytes = 4 * 1024 * 1024;
    const [a, b] = await Promise.all([tempDir(), tempDir()]);
    const first = await generateStandinMirror({ dir: a, kinds: ["knc"], arches: ["amd64"], padBytes });
    const second = await generateStandinMirror({ dir: b, kinds: ["knc"], arches: ["amd64"], padBytes });
    expect(second.artifacts.map((x) => x.digest)).toEqual(first.artifacts.map((x) => x.digest));
    expect(await readFile(path.join(b, "manifests/knc.debian-13.amd64.json"), "utf8")).toBe(await readFile(path.join(a, "manifests/knc.debian-13.amd64.json"), "utf8"));

    // containerd, runc and the CNI plugins are real binaries (their own sizes, no padding): the
    // padding goes to the stand-ins, in proportion to upstream's sizes, and stays within the total.
    const real = ["containerd", "runc", "cni-plugins"];
    const total = first.artifacts.filter((x) => !real.includes(x.name)).reduce((sum, x) => sum + x.size, 0);
    expect(total).toBeGreaterThan(padBytes * 0.5);
    expect(total).toBeLessThan(padBytes * 1.05);
    // kube-apiserver (88 MB upstream) gets far more than libpq5 (228 kB upstream), even gzip'd archives stay big.
    expect(find(first.artifacts, "kube-apiserver").size).toBeGreaterThan(50 * find(first.artifacts, "libpq5").size);
    expect(find(first.artifacts, "containerd").size).toBeGreaterThan(10 * 1024 * 1024);
  });
});

describe("a stand-in program", { timeout: 120_000 }, () => {
  it("is a Python zip app that says what it is, prints its version, exits 2 naming a missing flag, records args and env, and runs until SIGTERM", async () => {
    const dir = await tempDir();
    const mirror = await generateStandinMirror({ dir, kinds: ["knc"], arches: ["amd64"], padBytes: 256 * 1024 });
    const apiserver = find(mirror.artifacts, "kube-apiserver").path;
    const head = (await readFile(apiserver)).subarray(0, 200).toString("latin1");
    expect(head).toMatch(/^#!\/usr\/bin\/python3\n# Podplane stand-in for kube-apiserver 1\.36\.1: NOT the upstream program/);
    const state = path.join(dir, "state");
    const env = { ...process.env, PODPLANE_STANDIN_DIR: state, STANDIN_TEST_VALUE: "x y" };

    const { stdout } = await run(apiserver, ["--version"], { env });
    expect(stdout).toBe("Kubernetes v1.36.1 (podplane stand-in)\n");

    const missing = await run(apiserver, ["--secure-port=6443"], { env }).catch((e: unknown) => e as { code: number; stderr: string });
    expect(missing).toMatchObject({ code: 2, stderr: "kube-apiserver: missing required flag: --etcd-servers\n" });

    const key = path.join(dir, "sa.key");
    await writeFile(key, "-----BEGIN PRIVATE KEY-----\n");
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, "127.0.0.1", () => {
        const address = server.address();
        server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
      });
    });
    const args = ["--etcd-servers=http://127.0.0.1:2378", `--secure-port=${port}`, "--bind-address=127.0.0.1", "--service-account-issuer", "https://issuer.example", `--service-account-key-file=${key}`, `--service-account-signing-key-file=${key}`];
    const child = spawn(apiserver, args, { env, stdio: "ignore" });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const started = path.join(state, "kube-apiserver.starts");
    for (let i = 0; i < 100; i++) {
      if (await access(started).then(() => true, () => false)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(child.exitCode).toBeNull();
    expect(await readFile(path.join(state, "kube-apiserver.args"), "utf8")).toBe(`${args.join("\n")}\n`);
    expect(await readFile(path.join(state, "kube-apiserver.env"), "utf8")).toContain("STANDIN_TEST_VALUE=x y\n");
    expect(await readFile(started, "utf8")).toMatch(new RegExp(`^\\d+\\.\\d+ ${child.pid}\\n$`));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  });

  it("is a program in every archive: the netsy tarball's netsy prints its version", async () => {
    const dir = await tempDir();
    const mirror = await generateStandinMirror({ dir, kinds: ["knc"], arches: ["amd64"] });
    const out = path.join(dir, "x");
    await run("mkdir", ["-p", out]);
    await run("tar", ["-xzf", find(mirror.artifacts, "netsy").path, "-C", out]);
    const { stdout } = await run(path.join(out, "netsy"), ["--version"], { env: { ...process.env, PODPLANE_STANDIN_DIR: path.join(dir, "s") } });
    expect(stdout).toMatch(/^netsy \S+/);
  });
});

describe("the stand-in program text", () => {
  it("compiles as Python for every program the layouts name", async () => {
    const dir = await tempDir();
    const names = ["kube-apiserver", "kubelet", "containerd", "ctr", "containerd-shim-runc-v2", "bridge", "zot", "netsy", "nstance-agent", "kube2iam", "fluent-bit", "newgidmap"];
    for (const name of names) await writeFile(path.join(dir, `${name}.py`), renderStandinProgram(name, "1.0.0"));
    const { stderr } = await run(STANDIN_INTERPRETER, ["-m", "py_compile", ...names.map((n) => path.join(dir, `${n}.py`))]);
    expect(stderr).toBe("");
  });
});
