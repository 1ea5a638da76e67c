// bump --write pins through `pin` itself: the new versions' artifacts and upstream's checksum
// files are served as the pin suite serves them (bytes on the mirror, checksum files on a
// separate "upstream" given as --checksums-from), and a pin that fails verification leaves
// every manifest as it was, even when another dependency's pin had already passed.
import { createHash, randomBytes } from "node:crypto";
import { cp, readFile, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { loadManifests } from "../../pipeline/manifest/index.js";
import { resetCliStateAfterEach, runCli } from "../helpers/cli.js";
import { digestOf, mirrorPath, pinWorkspace, REPO, tempDir } from "../fetch/helpers.js";
import type { FixtureServer } from "../fixtures/http-server.js";
import { buildFixtureImage } from "../oci/image-fixture.js";
import { startFakeRegistry } from "../oci/fake-registry.js";
import { serveListings } from "./upstream-fixture.js";

resetCliStateAfterEach();

const GH = "https://github.com";

function cli(...args: string[]) {
  process.exitCode = undefined;
  return runCli(...args);
}

async function setup() {
  const { dir, manifestsDir: manifests, mirror, upstream: sums } = await pinWorkspace("pp-bump-write-");
  serveListings(mirror);
  const bump = (...args: string[]) =>
    cli("bump", "--manifests", manifests, "--mirror", mirror.url, "--checksums-from", sums.url, "--cache", path.join(dir, "cache"), "--write", ...args);
  return { dir, manifests, mirror, sums, bump };
}

async function snapshot(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const name of (await readdir(dir)).sort()) files.set(name, await readFile(path.join(dir, name), "utf8"));
  return files;
}

/** Serves containerd 2.3.2 for both arches with its `hex  name` checksum files; returns the digests. */
function serveContainerd(mirror: FixtureServer, sums: FixtureServer): Map<string, { digest: string; size: number }> {
  const pins = new Map<string, { digest: string; size: number }>();
  for (const arch of ["amd64", "arm64"]) {
    const file = `containerd-2.3.2-linux-${arch}.tar.gz`;
    const url = `${GH}/containerd/containerd/releases/download/v2.3.2/${file}`;
    const bytes = randomBytes(2048);
    mirror.file(mirrorPath(url), bytes);
    sums.file(mirrorPath(`${url}.sha256sum`), `${createHash("sha256").update(bytes).digest("hex")}  ${file}\n`);
    pins.set(arch, { digest: digestOf(bytes), size: bytes.length });
  }
  return pins;
}

describe("bump --write", () => {
  it("pins the newer version through pin into every manifest that has it; only that entry changes", async () => {
    const { manifests, mirror, sums, bump } = await setup();
    const pins = serveContainerd(mirror, sums);
    const before = await snapshot(manifests);
    const result = await bump("containerd", "runc", "--json");
    expect(result.code, result.stderr).toBe(0);
    const doc = JSON.parse(result.stdout) as { written: { bumps: { name: string; from: string; to: string; pin: string }[]; files: { file: string; changed: string[] }[] } };
    expect(doc.written.bumps).toEqual([{ name: "containerd", from: "2.3.1", to: "2.3.2", pin: "pin containerd@2.3.2 --kind knc,knd --arch amd64,arm64" }]);
    expect(doc.written.files.map((f) => [path.basename(f.file), f.changed])).toEqual(
      ["knc.debian-13.amd64.json", "knc.debian-13.arm64.json", "knd.debian-13.amd64.json", "knd.debian-13.arm64.json"].map((name) => [
        name,
        ["containerd.version", "containerd.url", "containerd.digest", "containerd.size"],
      ]),
    );
    for (const manifest of await loadManifests(manifests)) {
      const dep = manifest.dependencies.find((d) => d.name === "containerd");
      expect(dep, manifest.file).toMatchObject({
        version: "2.3.2",
        url: `${GH}/containerd/containerd/releases/download/v2.3.2/containerd-2.3.2-linux-${manifest.arch}.tar.gz`,
        ...pins.get(manifest.arch),
      });
      // the rest of the file is as it was: 4 changed lines
      const old = before.get(path.basename(manifest.file))?.split("\n") ?? [];
      const now = (await readFile(manifest.file, "utf8")).split("\n");
      expect(now.filter((line, i) => line !== old[i])).toHaveLength(4);
    }
    // one pin for the four manifests: each arch's checksum file read once, from the independent upstream
    expect(sums.count()).toBe(2);
  });

  it("changes no manifest when one pin fails verification, even after another passed", async () => {
    const { manifests, mirror, sums, bump } = await setup();
    serveContainerd(mirror, sums);
    // kube2iam sorts after containerd: its pin runs second and fails
    for (const arch of ["amd64", "arm64"]) {
      const url = `${GH}/podplane/kube2iam-binaries/releases/download/0.11.3/kube2iam_0.11.3_linux_${arch}.tar.gz`;
      mirror.file(mirrorPath(url), randomBytes(1024));
    }
    sums.file(
      mirrorPath(`${GH}/podplane/kube2iam-binaries/releases/download/0.11.3/kube2iam_0.11.3_checksums.txt`),
      ["amd64", "arm64"].map((arch) => `${"ab".repeat(64)}  kube2iam_0.11.3_linux_${arch}.tar.gz\n`).join(""), // not the served bytes
    );
    const before = await snapshot(manifests);
    const result = await bump("containerd", "kube2iam");
    expect(result.code).toBe(1);
    // refused before any digest is taken from kube2iam's checksum file: it has no Sigstore bundle
    expect(result.stderr).toMatch(/kube2iam 0\.11\.3 (amd64|arm64) checksum file Sigstore bundle: not found/);
    expect(result.stderr).toMatch(/containerd 2\.3\.2 arm64: sha256:[0-9a-f]{64} \(2048 bytes\); checks: digest-file/); // containerd's pin had passed
    expect(await snapshot(manifests)).toEqual(before);
  });

  it("pins a newer image tag through pin image", async () => {
    const dir = await tempDir("pp-bump-image-");
    const manifests = path.join(dir, "manifests");
    await cp(path.join(REPO, "manifests"), manifests, { recursive: true });
    const image = await buildFixtureImage(["amd64", "arm64"]);
    const registry = await startFakeRegistry("pause", image, { token: "t" });
    onTestFinished(() => registry.close());
    registry.override("pause", "tags" as "manifests", "list", (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ name: "pause", tags: ["3.10.1", "3.10.2"] }));
    });
    for (const name of await readdir(manifests)) {
      const file = path.join(manifests, name);
      await writeFile(file, (await readFile(file, "utf8")).replace("registry.k8s.io/pause:3.10.2", `${registry.registry}/pause:3.10.1`));
    }
    const result = await cli("bump", "pause", "--write", "--manifests", manifests, "--cache", path.join(dir, "cache"));
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/updated .*knd\.debian-13\.arm64\.json: images\[127\.0\.0\.1:\d+\/pause:3\.10\.2\]\.image/);
    for (const manifest of await loadManifests(manifests)) {
      const platform = image.platforms.find((p) => p.arch === manifest.arch);
      expect(manifest.images).toEqual([{ image: `${registry.registry}/pause:3.10.2`, digest: platform?.digest, size: platform?.size, platform: `linux/${manifest.arch}`, index: image.indexDigest }]);
    }
  });

  it("writes nothing when everything selected is up to date, and refuses --check with --write", async () => {
    const { manifests, bump } = await setup();
    const before = await snapshot(manifests);
    const current = await bump("runc", "zot");
    expect(current.code, current.stderr).toBe(0);
    expect(current.stdout).toContain("nothing to write: every dependency is up to date");
    expect(await snapshot(manifests)).toEqual(before);
    const both = await bump("runc", "--check");
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("--write and --check exclude each other");
  });
});
