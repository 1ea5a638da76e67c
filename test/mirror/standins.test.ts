// The "done when", on the stand-in set the end-to-end bake uses: `fetch --mirror` over
// a served loopback mirror fetches and verifies a knd and a knc set; a tampered mirror file is
// rejected with EINTEGRITY and nothing of it enters the cache. The stand-in pause image comes
// through the same mirror (its registry layout), or, as the end-to-end bake takes it, from a real
// registry it was pushed to (--registry-mirror), with no copy in the mirror.
import { chmod, readFile, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it, onTestFinished } from "vitest";
import { serveMirror } from "../../pipeline/mirror/index.js";
import { generateStandinMirror } from "../fixtures/standins/index.js";
import { CLI, listFiles, tempDir } from "../fetch/helpers.js";
import { parseImageReference } from "../../pipeline/oci/index.js";
import { startRealRegistry } from "../oci/real-registry.js";

describe("fetch over a served stand-in mirror", () => {
  it("fetches knd and knc, then rejects a tampered file", async () => {
    const dir = await tempDir("pp-standins-");
    const standins = await generateStandinMirror({ dir, kinds: ["knd", "knc"], arches: ["amd64"] });
    const server = await serveMirror({ dir: standins.mirrorDir });
    onTestFinished(() => server.close());
    const cache = path.join(dir, "cache");
    const args = ["fetch", "--manifests", standins.manifestsDir, "--mirror", server.url, "--cache", cache, "--json"];
    const ok = await execa("node", [CLI, ...args], { reject: false, env: { CI: "1" } });
    expect(ok.exitCode, ok.stderr).toBe(0);
    const doc = JSON.parse(ok.stdout) as { artifacts: { name: string; kinds: string[] }[]; images: { image: string; kinds: string[]; cacheHit: boolean }[] };
    // The stand-in pause image comes through the mirror's registry layout, once for both kinds.
    expect(doc.images.map((i) => [i.image, i.kinds, i.cacheHit])).toEqual([["registry.k8s.io/pause:3.10.2", ["knd", "knc"], false]]);
    expect(doc.artifacts.find((a) => a.name === "kube2iam")?.kinds).toEqual(["knd", "knc"]);
    expect(doc.artifacts.find((a) => a.name === "netsy")?.kinds).toEqual(["knc"]);
    expect(doc.artifacts).toHaveLength(standins.artifacts.filter((a) => a.url !== "").length);

    const runc = standins.artifacts.find((a) => a.name === "runc");
    if (!runc) throw new Error("no runc stand-in");
    await chmod(runc.path, 0o644);
    const bytes = await readFile(runc.path);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1; // same size, other bytes
    await writeFile(runc.path, bytes);
    const fresh = path.join(dir, "cache2");
    const bad = await execa("node", [CLI, "fetch", "--manifests", standins.manifestsDir, "--mirror", server.url, "--cache", fresh, "--kind", "knd", "--no-images"], {
      reject: false,
      env: { CI: "1" },
    });
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toMatch(
      new RegExp(`^EINTEGRITY: runc 1\\.4\\.2 amd64: digest mismatch: expected ${runc.digest}, found sha256:[0-9a-f]{64} \\(from http://127\\.0\\.0\\.1:\\d+/github\\.com/opencontainers/runc/releases/download/v1\\.4\\.2/runc\\.amd64\\)$`, "m"),
    );
    expect((await listFiles(path.join(fresh, "content-v2"))).length).toBe(doc.artifacts.filter((a) => a.kinds.includes("knd")).length - 1);
  });
});

describe("the stand-in pause image from a real registry (the end-to-end bake's set-up)", () => {
  it("generated without a mirror copy, pushed from its OCI layout with skopeo, fetched with --registry-mirror beside the artifacts' mirror", { timeout: 120_000 }, async () => {
    const dir = await tempDir("pp-standins-registry-");
    // An earlier run's copy (the end-to-end suite keeps its fixture dir) is removed too.
    const earlier = await generateStandinMirror({ dir, kinds: ["knd"], arches: ["amd64"] });
    expect(await readdir(earlier.mirrorDir)).toContain("registry.k8s.io");
    const standins = await generateStandinMirror({ dir, kinds: ["knd"], arches: ["amd64"], imagesInMirror: false });
    expect(await readdir(path.join(standins.mirrorDir, "registry.k8s.io", "v2"))).toEqual([]);
    const registry = await startRealRegistry(path.join(dir, "registry"));
    onTestFinished(() => registry.stop());
    const [image] = standins.images;
    if (!image) throw new Error("no stand-in image");
    const ref = parseImageReference(image.image);
    await registry.pushLayout(image.layoutDir, ref.repository, ref.tag);
    const server = await serveMirror({ dir: standins.mirrorDir });
    onTestFinished(() => server.close());

    const cache = path.join(dir, "cache");
    const args = ["fetch", "--manifests", standins.manifestsDir, "--mirror", server.url, "--cache", cache, "--json"];
    const without = await execa("node", [CLI, ...args], { reject: false, env: { CI: "1" } });
    expect(without.exitCode, "the mirror alone lacks the image").toBe(1);
    const ok = await execa("node", [CLI, ...args, "--registry-mirror", `${ref.registry}=${registry.url}`], { reject: false, env: { CI: "1" } });
    expect(ok.exitCode, ok.stderr).toBe(0);
    const doc = JSON.parse(ok.stdout) as { artifacts: unknown[]; images: { image: string; index: string; digest: string; cacheHit: boolean }[] };
    const pins = image.platforms.amd64;
    expect(doc.images.map((i) => [i.image, i.index, i.digest, i.cacheHit])).toEqual([[image.image, image.index.digest, pins.manifest.digest, false]]);
    expect(doc.artifacts).toHaveLength(standins.artifacts.length);
  });
});
