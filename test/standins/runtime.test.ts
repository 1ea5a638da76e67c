// The real container runtime of the fixtures: Debian's containerd, runc and CNI plugins under
// upstream's names and layouts, the stand-in pause image, the containerd config the room writes
// (accepted by the real containerd, its CRI plugin loaded) and the bake-time import of the
// staged images (import-images.sh with the real containerd, in a temporary root).
// containerd and ctr run on this bookworm host (they need glibc 2.34); runc needs 2.38, so it
// only runs in the trixie image (the boot test's runtime-ready check).
import { execFile, spawn } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import * as tar from "tar";
import { beforeAll, describe, expect, it } from "vitest";
import { loadManifests } from "../../pipeline/manifest/index.js";
import { stageImages } from "../../pipeline/stage/index.js";
import { generateStandinMirror, type StandinArtifact, type StandinMirror } from "../fixtures/standins/index.js";
import { CNI_PLUGINS } from "../fixtures/standins/layout.js";
import { defaultFixtureCache, runtimeDeb, unpackRuntimeDeb } from "../fixtures/standins/runtime-debs.js";
import { hashFile } from "../fixtures/standins/write.js";
import { tempDir } from "../helpers/temp-dir.js";

const run = promisify(execFile);
const ROOM = path.resolve("scripts/vmconfig/opt/podplane/services/containerd");
const isRoot = process.getuid?.() === 0;

function find(artifacts: readonly StandinArtifact[], name: string): StandinArtifact {
  const artifact = artifacts.find((a) => a.name === name);
  if (!artifact) throw new Error(`no artifact ${name}`);
  return artifact;
}

async function tarMembers(file: string): Promise<string[]> {
  const members: string[] = [];
  await tar.list({ file, onReadEntry: (entry) => members.push(entry.path) });
  return members;
}

let mirror: StandinMirror;
let dir: string;

beforeAll(async () => {
  const { mkdtemp } = await import("node:fs/promises");
  const os = await import("node:os");
  dir = await mkdtemp(path.join(os.tmpdir(), "podplane-runtime-"));
  // amd64 only: the arm64 set costs a minute more and differs only by the packages' arch.
  mirror = await generateStandinMirror({ dir, kinds: ["knd"], arches: ["amd64"] });
  return async () => {
    const { rm } = await import("node:fs/promises");
    await rm(dir, { recursive: true, force: true });
  };
}, 120_000);

describe("the real runtime parts in the stand-in mirror", { timeout: 120_000 }, () => {
  it("packs Debian's containerd (bin/), runc (runc.<arch>) and CNI plugins (flat tgz) under the pinned upstream names", async () => {
    const containerd = find(mirror.artifacts, "containerd");
    expect(containerd.path).toMatch(/containerd\/releases\/download\/v2\.3\.1\/containerd-2\.3\.1-linux-amd64\.tar\.gz$/);
    expect(await tarMembers(containerd.path)).toEqual(["bin/", "bin/containerd", "bin/containerd-shim-runc-v2", "bin/ctr"]);
    const out = path.join(dir, "x");
    await mkdir(out, { recursive: true });
    await run("tar", ["-xzf", containerd.path, "-C", out]);
    const { stdout } = await run(path.join(out, "bin/containerd"), ["--version"]);
    expect(stdout).toMatch(/^containerd github\.com\/containerd\/containerd\/v2 2\.1\./);

    const cni = await tarMembers(find(mirror.artifacts, "cni-plugins").path);
    expect(cni.sort()).toEqual([...CNI_PLUGINS.map((p) => `./${p}`), "./LICENSE", "./README.md"].sort());
    await run("tar", ["-xzf", find(mirror.artifacts, "cni-plugins").path, "-C", out]);
    const bridge = spawn(path.join(out, "bridge"), [], { env: { CNI_COMMAND: "VERSION" }, stdio: ["ignore", "pipe", "pipe"] });
    let answer = "";
    bridge.stdout.on("data", (chunk: Buffer) => (answer += chunk.toString()));
    await new Promise((resolve) => bridge.on("close", resolve));
    expect((JSON.parse(answer) as { supportedVersions: string[] }).supportedVersions).toContain("1.0.0");

    // runc.<arch> is Debian's /usr/sbin/runc byte for byte.
    for (const arch of ["amd64"] as const) {
      const runc = mirror.artifacts.find((a) => a.name === "runc" && a.arch === arch);
      expect(runc?.path).toMatch(new RegExp(`runc/releases/download/v1\\.4\\.2/runc\\.${arch}$`));
      const deb = await unpackRuntimeDeb(await runtimeDeb(defaultFixtureCache(), "runc", arch), path.join(dir, "debs"));
      expect(await hashFile(runc?.path ?? "", "sha256")).toBe(await hashFile(path.join(deb, "usr/sbin/runc"), "sha256"));
      const head = (await readFile(runc?.path ?? "")).subarray(0, 20);
      expect(head.subarray(0, 4).toString("latin1")).toBe("\x7fELF");
      expect(head.readUInt16LE(18)).toBe(arch === "amd64" ? 62 : 183); // e_machine: x86-64 / AArch64
    }
  });

  it("pins the stand-in pause image in the manifests: one index over both arches, each platform's manifest, config and layer", async () => {
    const [image] = mirror.images;
    expect(mirror.images).toHaveLength(1);
    expect(image?.image).toBe("registry.k8s.io/pause:3.10.2");
    const index = JSON.parse(await readFile(image?.index.path ?? "", "utf8")) as { manifests: Array<{ digest: string; platform: { architecture: string } }> };
    expect(index.manifests.map((m) => m.platform.architecture)).toEqual(["amd64", "arm64"]);
    for (const manifest of await loadManifests(mirror.manifestsDir)) {
      const [pinned] = manifest.images;
      const content = mirror.imageContent(manifest.arch)[0];
      expect(pinned).toEqual({
        image: "registry.k8s.io/pause:3.10.2",
        digest: content?.manifest.digest,
        size: (content?.manifest.size ?? 0) + (content?.config.size ?? 0) + (content?.layers[0]?.size ?? 0),
        platform: `linux/${manifest.arch}`,
        index: image?.index.digest,
      });
      expect(index.manifests.find((m) => m.platform.architecture === manifest.arch)?.digest).toBe(pinned?.digest);
      for (const blob of [content?.index, content?.manifest, content?.config, ...(content?.layers ?? [])]) {
        expect(`sha256:${await hashFile(blob?.path ?? "", "sha256")}`).toBe(blob?.digest);
      }
      const layer = await tarMembers(content?.layers[0]?.path ?? "");
      expect(layer).toEqual(["bin/", "bin/busybox", "pause"]);
    }
  });

  it("fails naming the cache and the fix when the runtime packages were never fetched", async () => {
    const empty = await tempDir();
    await expect(generateStandinMirror({ dir: empty, kinds: ["knd"], arches: ["amd64"], runtimeCache: path.join(empty, "no-cache") })).rejects.toThrow(
      /current\.tsv is missing: the real runtime packages are not in .*no-cache\/debs; run scripts\/setup-host\.sh or bash test\/fixtures\/standins\/fetch-runtime-debs\.sh/,
    );
  });
});

/** Renders the room's config.toml into `root` (configure.sh's stage_file writes straight through). */
async function renderContainerdConfig(root: string, installedJson: string, env: Record<string, string>): Promise<string> {
  await mkdir(path.join(root, "opt/podplane/share"), { recursive: true });
  await writeFile(path.join(root, "opt/podplane/share/installed.json"), installedJson);
  const assignments = Object.entries(env)
    .map(([k, v]) => `[${k}]=${JSON.stringify(v)}`)
    .join(" ");
  const script = `set -euo pipefail
declare -A ENV=(${assignments})
stage_file() { mkdir -p "\${1%/*}"; printf '%s' "$3" >"$1"; }
source ${JSON.stringify(path.join(ROOM, "configure.sh"))}
configure_containerd`;
  await run("bash", ["-c", script], { env: { ...process.env, PODPLANE_ROOT: root } });
  return readFile(path.join(root, "etc/containerd/config.toml"), "utf8");
}

const PRELOADED = `{"kind": "knd", "artifacts": [], "images": [
    {"image": "registry.k8s.io/pause:3.10.2", "platform": "linux/amd64", "index": "sha256:${"a".repeat(64)}", "digest": "sha256:${"b".repeat(64)}", "preloaded": true}
  ], "units": []}\n`;

describe("the containerd room's config", () => {
  it("pins the preloaded pause image by its own name (no pull through the registry mirror); one that was not preloaded goes through the mirror", async () => {
    const root = await tempDir();
    const registry = { REGISTRY_ENABLED: "true", REGISTRY_HOSTNAME: "registry.example.com" };
    expect(await renderContainerdConfig(root, PRELOADED, registry)).toContain('sandbox = "registry.k8s.io/pause:3.10.2"');
    expect(await renderContainerdConfig(root, PRELOADED.replace(', "preloaded": true', ""), registry)).toContain('sandbox = "registry.example.com/mirror/registry.k8s.io/pause:3.10.2"');
  });

  it.runIf(isRoot)("is accepted by the real containerd 2.x: the CRI plugin loads with the pinned sandbox image, runc runtime and CNI dirs", async () => {
    const root = await tempDir();
    const config = await renderContainerdConfig(root, PRELOADED, { REGISTRY_ENABLED: "true", REGISTRY_HOSTNAME: "registry.example.com" });
    expect(config).toMatch(/^version = 3\n/);
    const bin = await unpackRuntimeDeb(await runtimeDeb(defaultFixtureCache(), "containerd", "amd64"), path.join(root, "debs"));
    // Same file, but root, state and sockets in the temporary directory.
    const tomlPath = path.join(root, "config.toml");
    const sock = path.join(root, "c.sock");
    await writeFile(tomlPath, `${config.replace(/^version = 3\n/, `version = 3\nroot = "${root}/lib"\nstate = "${root}/run"\n`)}\n[grpc]\n  address = "${sock}"\n[ttrpc]\n  address = "${sock}.ttrpc"\n`);
    const daemon = spawn(path.join(bin, "usr/bin/containerd"), ["--config", tomlPath], { stdio: ["ignore", "ignore", "pipe"] });
    let log = "";
    daemon.stderr.on("data", (chunk: Buffer) => (log += chunk.toString()));
    try {
      const ctr = (args: string[]) => run(path.join(bin, "usr/bin/ctr"), ["--address", sock, ...args]);
      let plugins = "";
      for (let i = 0; i < 100 && !plugins; i++) {
        plugins = await ctr(["plugins", "ls"]).then((r) => r.stdout, () => "");
        if (!plugins) await new Promise((r) => setTimeout(r, 100));
      }
      expect(plugins).toMatch(/io\.containerd\.grpc\.v1\s+cri\s+-\s+ok/);
      expect(plugins).toMatch(/io\.containerd\.cri\.v1\s+images\s+-\s+ok/);
      const dumped = (await run(path.join(bin, "usr/bin/containerd"), ["--config", tomlPath, "config", "dump"])).stdout;
      expect(dumped).toContain("sandbox = 'registry.k8s.io/pause:3.10.2'");
      expect(dumped).toContain("BinaryName = '/usr/local/sbin/runc'");
      expect(dumped).toContain("bin_dirs = ['/opt/cni/bin']");
      expect(log).not.toMatch(/Ignoring unknown key/);
    } finally {
      daemon.kill("SIGTERM");
      await new Promise((r) => daemon.on("close", r));
    }
  });
});

describe("the bake-time import (import-images.sh)", () => {
  it.runIf(isRoot)("imports the staged pause image into namespace k8s.io with the real containerd, verified by digest, and leaves no runtime state", async () => {
    const root = await tempDir();
    const stage = path.join(root, "stage");
    await mkdir(stage, { recursive: true });
    const [manifest] = (await loadManifests(mirror.manifestsDir)).filter((m) => m.arch === "amd64");
    const staged = await stageImages(stage, manifest?.images ?? [], mirror.imageContent("amd64"));
    expect(staged).toHaveLength(1);
    expect(await readFile(path.join(stage, "images.tsv"), "utf8")).toMatch(/^registry\.k8s\.io\/pause:3\.10\.2\tlinux\/amd64\tsha256:\w{64}\tsha256:\w{64}\timages\/0-registry\.k8s\.io_pause_3\.10\.2\.oci\.tar\tsha256:\w{64}\tsha256:\w{64},sha256:\w{64},sha256:\w{64}\n$/);
    const bin = await unpackRuntimeDeb(await runtimeDeb(defaultFixtureCache(), "containerd", "amd64"), path.join(root, "debs"));
    const target = path.join(root, "target");
    await mkdir(path.join(target, "usr/local/bin"), { recursive: true });
    for (const b of ["containerd", "ctr"]) await run("cp", [path.join(bin, "usr/bin", b), path.join(target, "usr/local/bin", b)]);
    const out = path.join(root, "imported.tsv");
    const tmp = path.join(root, "tmp");
    await mkdir(tmp);
    const result = await run("bash", [path.join(ROOM, "import-images.sh"), stage, out], { env: { ...process.env, PODPLANE_ROOT: target, TMPDIR: tmp } });
    expect(result.stderr).toMatch(/imported registry\.k8s\.io\/pause:3\.10\.2 \(linux\/amd64\) into containerd namespace k8s\.io/);
    const pinned = manifest?.images[0];
    expect(await readFile(out, "utf8")).toBe(`registry.k8s.io/pause:3.10.2\tlinux/amd64\t${pinned?.index}\t${pinned?.digest}\n`);
    // The content store holds the blobs; the temporary state is gone.
    const { stdout: blobs } = await run("find", [path.join(target, "var/lib/containerd/io.containerd.content.v1.content/blobs/sha256"), "-type", "f", "-printf", "%f\n"]);
    for (const blob of mirror.imageContent("amd64")[0]?.layers ?? []) expect(blobs).toContain(blob.digest.slice(7));
    expect((await run("ls", ["-A", tmp])).stdout).toBe("");

    // A tampered archive is refused before containerd starts.
    const archive = path.join(stage, staged[0]?.relativePath ?? "");
    await writeFile(archive, Buffer.concat([await readFile(archive), Buffer.from("x")]));
    const refused = await run("bash", [path.join(ROOM, "import-images.sh"), stage, out], { env: { ...process.env, PODPLANE_ROOT: target, TMPDIR: tmp } }).catch((e: unknown) => e as { code: number; stderr: string });
    expect(refused).toMatchObject({ code: 1 });
    expect((refused as { stderr: string }).stderr).toMatch(/registry\.k8s\.io\/pause:3\.10\.2: .*\.oci\.tar: expected sha256:\w+, found sha256:\w+: refusing to import/);
  }, 120_000);
});
