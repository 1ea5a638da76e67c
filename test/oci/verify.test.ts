// verify re-checks the manifests' container images as well as the artifacts: each file of an
// image re-hashed, the pinned size added up; a missing image is listed, a corrupt one fails.
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it, onTestFinished } from "vitest";
import { contentPath } from "../../pipeline/cache/index.js";
import { fetchArtifacts } from "../../pipeline/fetch/index.js";
import { digestToIntegrity } from "../../pipeline/manifest/digest.js";
import { loadManifests } from "../../pipeline/manifest/index.js";
import { verifyCache } from "../../pipeline/verify/index.js";
import { CLI, tempDir, writeManifest } from "../fetch/helpers.js";
import { startFakeRegistry } from "./fake-registry.js";
import { buildFixtureImage, imageEntry } from "./image-fixture.js";

async function fetchedImage() {
  const dir = await tempDir("pp-oci-verify-");
  const image = await buildFixtureImage(["amd64"]);
  const registry = await startFakeRegistry("k8s/pause", image);
  onTestFinished(() => registry.close());
  const manifestsDir = path.join(dir, "manifests");
  await writeManifest(manifestsDir, "knd", "amd64", [], [imageEntry(`${registry.registry}/k8s/pause:3.10.2`, image, "amd64")]);
  const manifests = await loadManifests(manifestsDir);
  const cacheDir = path.join(dir, "cache");
  await fetchArtifacts({ manifests, cacheDir, images: true });
  const platform = image.platforms[0];
  if (!platform) throw new Error("fixture image has no platform");
  return { dir, image, platform, manifests, manifestsDir, cacheDir };
}

describe("verify: container images", () => {
  it("reports a fetched image ok, a damaged layer CORRUPT naming it (exit 1), and an unfetched one missing", async () => {
    const f = await fetchedImage();
    const good = await verifyCache({ manifests: f.manifests, cacheDir: f.cacheDir });
    expect(good.images.map((i) => [i.platform, i.status])).toEqual([["linux/amd64", "ok"]]);
    expect(good.imageCounts).toEqual({ ok: 1, corrupt: 0, missing: 0 });
    expect(good.ok).toBe(true);

    const layer = contentPath(f.cacheDir, digestToIntegrity(f.platform.layer.digest));
    await writeFile(layer, Buffer.concat([f.platform.layer.bytes, Buffer.from("x")]));
    const bad = await verifyCache({ manifests: f.manifests, cacheDir: f.cacheDir });
    expect(bad.ok).toBe(false);
    expect(bad.images[0]?.status).toBe("corrupt");
    expect(bad.images[0]?.problem).toContain(`layer ${f.platform.layer.digest}`);
    const cli = await execa("node", [CLI, "verify", "--manifests", f.manifestsDir, "--cache", f.cacheDir], { reject: false, env: { CI: "1" } });
    expect(cli.exitCode).toBe(1);
    expect(cli.stdout).toMatch(/^CORRUPT .*k8s\/pause:3\.10\.2 linux\/amd64/m);
    expect(cli.stdout).toContain("images: 0 ok, 1 corrupt, 0 missing");
    // --no-images leaves the images out, and with them the failure
    const skipped = await execa("node", [CLI, "verify", "--manifests", f.manifestsDir, "--cache", f.cacheDir, "--no-images", "--json"], { reject: false });
    expect(skipped.exitCode).toBe(0);
    expect(JSON.parse(skipped.stdout)).toMatchObject({ ok: true, images: [] });

    const empty = await verifyCache({ manifests: f.manifests, cacheDir: path.join(f.dir, "none") });
    expect(empty.images[0]?.status).toBe("missing");
    expect(empty.images[0]?.problem).toContain("not in the cache");
    expect(empty.ok).toBe(true);
  });
});
