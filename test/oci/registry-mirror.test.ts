// --registry-mirror REGISTRY=URL against Debian's docker-registry on 127.0.0.1 (pushed by
// skopeo): registry.k8s.io's images come from that registry under the same repository names,
// ahead of --mirror; pin image and bump read the tag and tags list there; a tampered blob in the
// registry is refused like any source's; bad values exit 2 naming them.
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it, onTestFinished } from "vitest";
import { contentPath, parseIntegrity } from "../../pipeline/cache/index.js";
import { UsageError } from "../../pipeline/errors/index.js";
import { digestToIntegrity } from "../../pipeline/manifest/digest.js";
import { addRegistryMirrors, registrySource } from "../../pipeline/oci/index.js";
import { CLI, listFiles, tempDir, writeManifest } from "../fetch/helpers.js";
import { buildFixtureImage, imageEntry, type FixtureImage } from "./image-fixture.js";
import { startRealRegistry, type RealRegistry } from "./real-registry.js";

const REF = "registry.k8s.io/pause:3.10.2";

interface FetchDoc {
  registryMirrors: Record<string, string>;
  images: { image: string; platform: string; cacheHit: boolean }[];
}

const run = (args: string[]) => execa("node", [CLI, ...args], { reject: false, env: { CI: "1" } });

/** The registry with the fixture image pushed as pause:3.10.2, and manifests pinning it as registry.k8s.io/pause:3.10.2. */
async function setup(): Promise<{ dir: string; registry: RealRegistry; image: FixtureImage; manifestsDir: string; flag: string }> {
  const dir = await tempDir("pp-oci-regmirror-");
  const registry = await startRealRegistry(path.join(dir, "registry"));
  onTestFinished(() => registry.stop());
  const image = await buildFixtureImage();
  await registry.push(image, "pause", "3.10.2");
  const manifestsDir = path.join(dir, "manifests");
  for (const kind of ["knd", "knc"] as const) {
    for (const arch of ["amd64", "arm64"] as const) await writeManifest(manifestsDir, kind, arch, [], [imageEntry(REF, image, arch)]);
  }
  return { dir, registry, image, manifestsDir, flag: `registry.k8s.io=${registry.url}` };
}

function cached(cacheDir: string, digest: string): string {
  return path.relative(cacheDir, contentPath(cacheDir, parseIntegrity(digestToIntegrity(digest)).integrity));
}

describe("--registry-mirror: values", () => {
  it("takes REGISTRY=URL, repeated or comma-separated, to a base URL without a trailing slash", () => {
    const first = addRegistryMirrors("registry.k8s.io=http://127.0.0.1:5000/", undefined);
    const both = addRegistryMirrors("ghcr.io=https://cache.example.com/ghcr/, quay.io=http://[::1]:5001", first);
    expect(Object.fromEntries(both)).toEqual({ "registry.k8s.io": "http://127.0.0.1:5000", "ghcr.io": "https://cache.example.com/ghcr", "quay.io": "http://[::1]:5001" });
    expect(Object.fromEntries(first)).toEqual({ "registry.k8s.io": "http://127.0.0.1:5000" }); // not mutated
  });

  it.each([
    ["registry.k8s.io", "no `=`"],
    ["=http://127.0.0.1:5000", "the registry is empty"],
    ["registry.k8s.io=", "the URL is empty"],
    ["registry.k8s.io=ftp://127.0.0.1/x", "must be http:// or https://"],
    ["registry.k8s.io=not a url", "is not a URL"],
    ["registry.k8s.io=http://10.0.0.5:5000", "plain http:// is only for a loopback host"],
    ["registry.k8s.io=https://user:secret@cache.example.com", "credentials in the URL are not supported"],
    ["registry.k8s.io/pause=http://127.0.0.1:5000", "is not a registry"],
    ["registry.k8s.io=http://127.0.0.1:1,registry.k8s.io=http://127.0.0.1:2", "registry.k8s.io already has a registry mirror (http://127.0.0.1:1)"],
  ])("refuses %s (%s)", (value, why) => {
    const error = (() => {
      try {
        addRegistryMirrors(value, undefined);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toContain(why);
    expect((error as Error).message).toContain("--registry-mirror");
  });

  it("the registry mirror of an image's registry comes first; other registries keep the mirror tree or the registry", () => {
    const sources = { mirror: "/srv/mirror", registryMirrors: new Map([["registry.k8s.io", "http://127.0.0.1:5000"]]) };
    expect(registrySource("registry.k8s.io", "pause", sources).describe("blobs", "sha256:ab")).toBe("http://127.0.0.1:5000/v2/pause/blobs/sha256:ab");
    expect(registrySource("ghcr.io", "x/pause", sources).describe("blobs", "sha256:ab")).toBe("/srv/mirror/ghcr.io/v2/x/pause/blobs/sha256:ab");
    expect(registrySource("ghcr.io", "x/pause", { registryMirrors: sources.registryMirrors }).describe("manifests", "v1")).toBe("https://ghcr.io/v2/x/pause/manifests/v1");
  });

  it("bad values on the command line exit 2 with one line naming them, before any work", async () => {
    const cases: [string[], string][] = [
      [["fetch", "--registry-mirror", "registry.k8s.io"], `--registry-mirror "registry.k8s.io": no \`=\``],
      [["build", "--registry-mirror", "registry.k8s.io=ftp://127.0.0.1"], `--registry-mirror "registry.k8s.io=ftp://127.0.0.1": the URL must be http:// or https://`],
      [["fetch", "--registry-mirror", "registry.k8s.io=http://192.0.2.7:5000"], `--registry-mirror "registry.k8s.io=http://192.0.2.7:5000": plain http:// is only for a loopback host`],
      [["pin", "image", REF, "--registry-mirror", "a.io=http://127.0.0.1:1", "--registry-mirror", "a.io=http://127.0.0.1:2"], `--registry-mirror "a.io=http://127.0.0.1:2": a.io already has a registry mirror`],
      [["bump", "pause", "--registry-mirror", "=http://127.0.0.1:1"], `--registry-mirror "=http://127.0.0.1:1": the registry is empty`],
      [["pin", "kubelet@1.36.1", "--registry-mirror", "registry.k8s.io=http://127.0.0.1:1"], "--registry-mirror applies to `pin image REF` only"],
    ];
    for (const [args, message] of cases) {
      const result = await run([...args, "--manifests", "/nonexistent-manifests"]);
      expect(result.exitCode, `${args.join(" ")}: ${result.stderr}`).toBe(2);
      expect(result.stderr, args.join(" ")).toContain(message);
      expect(result.stderr.trim().split("\n"), args.join(" ")).toHaveLength(1);
    }
  });
});

describe("--registry-mirror against a real registry (docker-registry + skopeo)", () => {
  it("fetch takes registry.k8s.io/pause from the registry, not the mirror tree; warm is a cache hit; pin image and bump read the registry too", { timeout: 120_000 }, async () => {
    const { dir, registry, image, manifestsDir, flag } = await setup();
    const emptyMirror = path.join(dir, "mirror");
    await mkdir(emptyMirror);
    const cache = path.join(dir, "cache");
    const fetch = (cacheDir: string, ...extra: string[]) => run(["fetch", "--manifests", manifestsDir, "--cache", cacheDir, "--mirror", emptyMirror, ...extra, "--json"]);

    // Without the flag the (empty) mirror tree is asked and has nothing.
    const without = await fetch(cache);
    expect(without.exitCode).toBe(1);
    expect(without.stderr).toContain(path.join(emptyMirror, "registry.k8s.io", "v2", "pause", "manifests", image.indexDigest));

    const cold = await fetch(cache, "--registry-mirror", flag);
    expect(cold.exitCode, cold.stderr).toBe(0);
    const coldDoc = JSON.parse(cold.stdout) as FetchDoc;
    expect(coldDoc.registryMirrors).toEqual({ "registry.k8s.io": registry.url });
    expect(cold.stderr).toContain(`from ${emptyMirror}; registry.k8s.io images from ${registry.url}`); // the progress heading says where images come from
    expect(coldDoc.images.map((i) => [i.image, i.platform, i.cacheHit])).toEqual([
      [REF, "linux/amd64", false],
      [REF, "linux/arm64", false],
    ]);
    expect(await readdir(emptyMirror)).toEqual([]); // nothing could have come from the tree
    for (const p of image.platforms) expect(await readFile(registry.blobFile(p.layer.digest))).toEqual(p.layer.bytes); // the registry's storage holds what was fetched
    const files = await listFiles(cache);
    for (const p of image.platforms) for (const digest of [p.digest, p.config.digest, p.layer.digest]) expect(files).toContain(cached(cache, digest));

    const warm = await fetch(cache, "--registry-mirror", flag);
    expect(warm.exitCode, warm.stderr).toBe(0);
    expect((JSON.parse(warm.stdout) as FetchDoc).images.map((i) => i.cacheHit)).toEqual([true, true]);

    // pin image resolves the tag at the registry mirror; bump lists its tags there.
    await registry.push(image, "pause", "3.11.0");
    const pin = await run(["pin", "image", REF, "--registry-mirror", flag, "--manifests", manifestsDir, "--cache", cache, "--json"]);
    expect(pin.exitCode, pin.stderr).toBe(0);
    const pinned = JSON.parse(pin.stdout) as { resolved: { index: string; url: string; platforms: { arch: string; digest: string; size: number }[] } };
    expect(pinned.resolved.url).toBe(`${registry.url}/v2/pause/manifests/3.10.2`);
    expect(pinned.resolved.index).toBe(image.indexDigest);
    expect(pinned.resolved.platforms.map((p) => [p.arch, p.digest, p.size])).toEqual(image.platforms.map((p) => [p.arch, p.digest, p.size]));
    const bump = await run(["bump", "registry.k8s.io/pause", "--registry-mirror", flag, "--manifests", manifestsDir, "--json"]);
    expect(bump.exitCode, bump.stderr).toBe(0);
    const rows = (JSON.parse(bump.stdout) as { dependencies: { name: string; newest: string | null; status: string; from: string | null }[] }).dependencies;
    expect(rows.map((r) => [r.name, r.status, r.newest, r.from])).toEqual([["registry.k8s.io/pause", "newer", "3.11.0", `${registry.url}/v2/pause/tags/list`]]);

    // It takes precedence over a mirror tree that has the image: with the registry stopped, a
    // fresh cache fails naming the registry, although the tree could have served it.
    const tree = path.join(dir, "tree");
    const exported = await run(["mirror", "export", tree, "--manifests", manifestsDir, "--cache", cache]);
    expect(exported.exitCode, exported.stderr).toBe(0);
    await registry.stop();
    const stopped = await run(["fetch", "--manifests", manifestsDir, "--cache", path.join(dir, "cache2"), "--mirror", tree, "--registry-mirror", flag]);
    expect(stopped.exitCode).toBe(1);
    expect(stopped.stderr).toContain(`${registry.url}/v2/pause/manifests/${image.indexDigest}`);
    const fromTree = await run(["fetch", "--manifests", manifestsDir, "--cache", path.join(dir, "cache3"), "--mirror", tree]);
    expect(fromTree.exitCode, fromTree.stderr).toBe(0);
  });

  it("a tampered blob in the registry is refused naming it and the registry; nothing of it enters the cache", { timeout: 90_000 }, async () => {
    const { dir, registry, image, manifestsDir, flag } = await setup();
    const [amd64, arm64] = image.platforms;
    if (!amd64 || !arm64) throw new Error("fixture image without both arches");
    // Same length, other bytes: only the digest check can tell.
    const stored = registry.blobFile(amd64.layer.digest);
    const bytes = await readFile(stored);
    await writeFile(stored, Buffer.from(bytes.map((b) => b ^ 0x5a)));

    const cache = path.join(dir, "cache");
    const result = await run(["fetch", "--manifests", manifestsDir, "--cache", cache, "--registry-mirror", flag]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain("EINTEGRITY");
    expect(result.stderr).toContain(`${REF} linux/amd64 layer ${amd64.layer.digest}: digest mismatch`);
    expect(result.stderr).toContain(`${registry.url}/v2/pause/blobs/${amd64.layer.digest}`);
    const files = await listFiles(cache);
    expect(files).not.toContain(cached(cache, amd64.layer.digest));
    expect(files.filter((f) => f.startsWith("tmp/"))).toEqual([]);
    expect(files).toContain(cached(cache, arm64.layer.digest)); // the untouched platform still completed
  });
});
