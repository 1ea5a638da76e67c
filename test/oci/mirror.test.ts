// Images through a mirror: export writes the registry layout from the cache, serve answers with
// each manifest's own media type, and fetch through it (HTTP or directory) verifies the same way.
import path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { fetchArtifacts } from "../../pipeline/fetch/index.js";
import { loadManifests } from "../../pipeline/manifest/index.js";
import { exportMirror, serveMirror } from "../../pipeline/mirror/index.js";
import { OCI_INDEX, OCI_MANIFEST } from "../../pipeline/oci/index.js";
import { listFiles, tempDir, writeManifest } from "../fetch/helpers.js";
import { buildFixtureImage, imageEntry } from "./image-fixture.js";
import { startFakeRegistry } from "./fake-registry.js";

describe("images in a mirror", () => {
  it("export writes <registry>/v2/<repo>/manifests|blobs/<digest>; serve gives media types; fetch through it is verified and warm makes no request", async () => {
    const dir = await tempDir("pp-oci-mirror-");
    const image = await buildFixtureImage();
    const registry = await startFakeRegistry("k8s/pause", image);
    onTestFinished(() => registry.close());
    const ref = `${registry.registry}/k8s/pause:3.10.2`;
    const manifestsDir = path.join(dir, "manifests");
    for (const arch of ["amd64", "arm64"] as const) await writeManifest(manifestsDir, "knd", arch, [], [imageEntry(ref, image, arch)]);
    const manifests = await loadManifests(manifestsDir);
    const upstreamCache = path.join(dir, "cache-a");
    await fetchArtifacts({ manifests, cacheDir: upstreamCache, images: true });
    const requestsToRegistry = registry.server.count();

    const mirrorDir = path.join(dir, "mirror");
    const files = await exportMirror({ manifests, cacheDir: upstreamCache, dir: mirrorDir });
    const base = `${registry.registry}/v2/k8s/pause`;
    const expected = [
      `${base}/manifests/${image.indexDigest}`,
      `${base}/manifests/3.10.2`,
      ...image.platforms.map((p) => `${base}/manifests/${p.digest}`),
      ...[...image.blobs.keys()].map((d) => `${base}/blobs/${d}`),
    ].sort();
    expect(await listFiles(mirrorDir)).toEqual(expected);
    expect(files.every((f) => f.how === "linked" || f.how === "copied")).toBe(true);

    const server = await serveMirror({ dir: mirrorDir });
    onTestFinished(() => server.close());
    const index = await fetch(`${server.url}/${base}/manifests/${image.indexDigest}`);
    expect(index.headers.get("content-type")).toBe(OCI_INDEX);
    expect(index.headers.get("docker-content-digest")).toBe(image.indexDigest);
    const manifest = await fetch(`${server.url}/${base}/manifests/${image.platforms[0]?.digest ?? ""}`);
    expect(manifest.headers.get("content-type")).toBe(OCI_MANIFEST);
    const blob = await fetch(`${server.url}/${base}/blobs/${image.platforms[0]?.layer.digest ?? ""}`);
    expect(blob.headers.get("content-type")).toBe("application/octet-stream");
    expect(Buffer.from(await blob.arrayBuffer()).equals(image.platforms[0]?.layer.bytes ?? Buffer.alloc(0))).toBe(true);

    // a fresh cache fetches through the HTTP mirror only
    await registry.close();
    const viaHttp = await fetchArtifacts({ manifests, cacheDir: path.join(dir, "cache-b"), images: true, mirror: server.url });
    expect(viaHttp.images?.map((i) => i.cacheHit)).toEqual([false, false]);
    expect(registry.server.count()).toBe(requestsToRegistry);
    const warm = await fetchArtifacts({ manifests, cacheDir: path.join(dir, "cache-b"), images: true, mirror: "http://127.0.0.1:9/unreachable" });
    expect(warm.images?.every((i) => i.cacheHit)).toBe(true);
    // and through the mirror directory itself
    const viaDir = await fetchArtifacts({ manifests, cacheDir: path.join(dir, "cache-c"), images: true, mirror: mirrorDir });
    expect(viaDir.images?.map((i) => i.cacheHit)).toEqual([false, false]);
  });

  it("export names an image that is not in the cache", async () => {
    const dir = await tempDir("pp-oci-mirror-");
    const image = await buildFixtureImage(["amd64"]);
    const manifestsDir = path.join(dir, "manifests");
    await writeManifest(manifestsDir, "knd", "amd64", [], [imageEntry("127.0.0.1:5999/pause:3.10.2", image, "amd64")]);
    const manifests = await loadManifests(manifestsDir);
    await expect(exportMirror({ manifests, cacheDir: path.join(dir, "cache"), dir: path.join(dir, "m") })).rejects.toThrow(
      new RegExp(`127\\.0\\.0\\.1:5999/pause:3\\.10\\.2 linux/amd64 index ${image.indexDigest}: not in the cache \\(run fetch first\\)`),
    );
    expect(await exportMirror({ manifests, cacheDir: path.join(dir, "cache"), dir: path.join(dir, "m"), images: false })).toEqual([]);
  });
});
