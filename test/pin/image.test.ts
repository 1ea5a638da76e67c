// pin image REF against an in-process registry on 127.0.0.1: the tag resolves to the index
// digest and per-arch manifest digest and size (manifest bytes + config + layers, Podplane's
// definition), written with minimal edits; a missing platform changes no manifest.
import { cp, readFile, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { WorkError } from "../../pipeline/errors/index.js";
import { loadManifests } from "../../pipeline/manifest/index.js";
import { pinImage, pinImageInManifestText } from "../../pipeline/pin/index.js";
import { REPO, tempDir } from "../fetch/helpers.js";
import { buildFixtureImage } from "../oci/image-fixture.js";
import { startFakeRegistry } from "../oci/fake-registry.js";

async function setup(arches: ("amd64" | "arm64")[] = ["amd64", "arm64"]) {
  const dir = await tempDir("pp-pin-image-");
  const manifestsDir = path.join(dir, "manifests");
  await cp(path.join(REPO, "manifests"), manifestsDir, { recursive: true });
  const image = await buildFixtureImage(arches);
  const registry = await startFakeRegistry("pause", image, { token: "pin-token" });
  onTestFinished(() => registry.close());
  // the seeded manifests' pause image, as if it lived on this registry at an older tag
  for (const name of await readdir(manifestsDir)) {
    const file = path.join(manifestsDir, name);
    await writeFile(file, (await readFile(file, "utf8")).replace("registry.k8s.io/pause:3.10.2", `${registry.registry}/pause:3.10.1`));
  }
  return { dir, manifestsDir, image, registry, cacheDir: path.join(dir, "cache") };
}

function diff(before: string, after: string): { removed: string[]; added: string[] } {
  const a = before.split("\n");
  const b = after.split("\n");
  return { removed: a.filter((line, i) => b[i] !== line).map((l) => l.trim()), added: b.filter((line, i) => a[i] !== line).map((l) => l.trim()) };
}

describe("pin image", () => {
  it("moves the pause entry of every manifest to the new tag: only the image's lines change", async () => {
    const { manifestsDir, image, registry, cacheDir } = await setup();
    const file = path.join(manifestsDir, "knc.debian-13.arm64.json");
    const before = await readFile(file, "utf8");
    const ref = `${registry.registry}/pause:3.10.2`;
    const result = await pinImage({ ref, manifestsDir, cacheDir, retry: { retries: 0, baseDelayMs: 1 } });
    expect(result.resolved.index).toBe(image.indexDigest);
    expect(result.files).toHaveLength(4);
    expect(result.files.map((f) => f.changed.length)).toEqual([4, 4, 4, 4]); // image (the tag), digest, size, index; platform stays // image, digest, size, index; platform stays
    const after = await readFile(file, "utf8");
    const arm64 = image.platforms[1];
    expect(diff(before, after)).toEqual({
      removed: [
        `"image": "${registry.registry}/pause:3.10.1",`,
        '"digest": "sha256:a433214620b407678934ebd69690a9ed6066247231eacfba181fab20dbc3dbf1",',
        '"size": 265534,',
        '"index": "sha256:f548e0e8e3dc1896ca956272154dde3314e8cc4fde0a57577ee9fa1c63f5baf4"',
      ],
      added: [`"image": "${ref}",`, `"digest": "${arm64?.digest ?? ""}",`, `"size": ${arm64?.size ?? 0},`, `"index": "${image.indexDigest}"`],
    });
    const loaded = await loadManifests(manifestsDir, { arches: ["amd64"] });
    expect(loaded.map((m) => m.images)).toEqual(
      [0, 1].map(() => [{ image: ref, digest: image.platforms[0]?.digest, size: image.platforms[0]?.size, platform: "linux/amd64", index: image.indexDigest }]),
    );
    // pinning again changes nothing
    const again = await pinImage({ ref, manifestsDir, cacheDir });
    expect(again.files.every((f) => f.changed.length === 0)).toBe(true);
  });

  it("an index without an arch of the selected manifests changes no manifest and names image and platform", async () => {
    const { manifestsDir, registry, cacheDir } = await setup(["amd64"]);
    const before = await readFile(path.join(manifestsDir, "knd.debian-13.amd64.json"), "utf8");
    const ref = `${registry.registry}/pause:3.10.2`;
    const error = await pinImage({ ref, manifestsDir, cacheDir, retry: { retries: 0, baseDelayMs: 1 } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkError);
    expect((error as WorkError).code).toBe("ENOPLATFORM");
    expect((error as WorkError).message).toContain(`${ref}: index sha256:`);
    expect((error as WorkError).message).toContain("has no linux/arm64 manifest (it has linux/amd64)");
    expect(await readFile(path.join(manifestsDir, "knd.debian-13.amd64.json"), "utf8")).toBe(before);
  });

  it("a new image is inserted in name order without touching the others", () => {
    const text = `{\n  "vmconfig": {\n    "images": [\n      {\n        "image": "registry.k8s.io/pause:3.10.2",\n        "digest": "sha256:aa",\n        "size": 1,\n        "platform": "linux/amd64",\n        "index": "sha256:bb"\n      }\n    ]\n  }\n}\n`;
    const result = pinImageInManifestText(text, { image: "ghcr.io/x/y:1", digest: "sha256:cc", size: 2, platform: "linux/amd64", index: "sha256:dd" });
    const parsed = JSON.parse(result.text) as { vmconfig: { images: { image: string }[] } };
    expect(parsed.vmconfig.images.map((i) => i.image)).toEqual(["ghcr.io/x/y:1", "registry.k8s.io/pause:3.10.2"]);
    expect(result.text).toContain(text.slice(text.indexOf('      {\n        "image": "registry.k8s.io'), text.indexOf("    ]")));
  });
});
