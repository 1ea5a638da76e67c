import path from "node:path";
import { describe, expect, it } from "vitest";
import { computeInputHash, IMAGE_FORMAT_VERSION, imageName, inputDocument, type ImageInputs } from "../../pipeline/image/index.js";
import { loadManifests } from "../../pipeline/manifest/index.js";

const MANIFESTS = path.resolve(import.meta.dirname, "../../manifests");

async function inputs(): Promise<ImageInputs> {
  const [manifest] = await loadManifests(MANIFESTS, { kinds: ["knc"], arches: ["amd64"] });
  if (!manifest) throw new Error("no knc amd64 manifest");
  return {
    manifest,
    vmconfigDigest: `sha256:${"1".repeat(64)}`,
    templateDigest: `sha256:${"2".repeat(64)}`,
    baseImage: `sha256:${"3".repeat(64)}`,
    target: "qemu",
  };
}

describe("input hash", () => {
  it("is stable: the same inputs give the same hash and name", async () => {
    const a = await inputs();
    const b = await inputs();
    expect(computeInputHash(a)).toBe(computeInputHash(b));
    const hash = computeInputHash(a);
    expect(imageName(a.manifest, hash)).toBe(`podplane-knc-debian-13-amd64-${hash.slice(0, 12)}`);
  });

  it("does not depend on the order dependencies are listed in", async () => {
    const a = await inputs();
    const reversed = { ...a, manifest: { ...a.manifest, dependencies: [...a.manifest.dependencies].reverse() } };
    expect(computeInputHash(reversed)).toBe(computeInputHash(a));
  });

  it("changes when any one input changes", async () => {
    const base = await inputs();
    const hash = computeInputHash(base);
    const deps = base.manifest.dependencies;
    const kubelet = deps.findIndex((d) => d.name === "kubelet");
    const withDep = (change: Partial<(typeof deps)[number]>) => ({ ...base, manifest: { ...base.manifest, dependencies: deps.map((d, i) => (i === kubelet ? { ...d, ...change } : d)) } });
    const images = base.manifest.images;
    expect(images.length).toBeGreaterThan(0);
    const withImage = (change: Partial<(typeof images)[number]>) => ({ ...base, manifest: { ...base.manifest, images: images.map((img, i) => (i === 0 ? { ...img, ...change } : img)) } });
    const variants: Record<string, ImageInputs> = {
      "dependency version": withDep({ version: "1.36.2" }),
      "dependency digest": withDep({ digest: `sha256:${"9".repeat(64)}` }),
      "dependency url": withDep({ url: "https://dl.k8s.io/release/v1.36.1/bin/linux/amd64/kubelet2" }),
      "dependency size": withDep({ size: 1 }),
      "a dependency removed": { ...base, manifest: { ...base.manifest, dependencies: deps.filter((_, i) => i !== kubelet) } },
      "container image index digest": withImage({ index: `sha256:${"7".repeat(64)}` }),
      "container image platform digest": withImage({ digest: `sha256:${"8".repeat(64)}` }),
      "container image tag": withImage({ image: "registry.k8s.io/pause:3.11" }),
      "a container image removed": { ...base, manifest: { ...base.manifest, images: [] } },
      vmconfig: { ...base, vmconfigDigest: `sha256:${"4".repeat(64)}` },
      template: { ...base, templateDigest: `sha256:${"5".repeat(64)}` },
      "base image": { ...base, baseImage: `sha256:${"6".repeat(64)}` },
      "format version": { ...base, formatVersion: IMAGE_FORMAT_VERSION + 1 },
      target: { ...base, target: "aws" },
      kind: { ...base, manifest: { ...base.manifest, kind: "knd" } },
      arch: { ...base, manifest: { ...base.manifest, arch: "arm64" } },
    };
    const seen = new Map<string, string>([[hash, "original"]]);
    for (const [what, variant] of Object.entries(variants)) {
      const h = computeInputHash(variant);
      expect(seen.get(h), `${what} collides with ${seen.get(h) ?? ""}`).toBeUndefined();
      seen.set(h, what);
      expect(imageName(variant.manifest, h), what).not.toBe(imageName(base.manifest, hash));
    }
  });

  it("does not depend on the order container images are listed in", async () => {
    const a = await inputs();
    const extra = { image: "registry.example.test/other:1", digest: `sha256:${"a".repeat(64)}`, size: 1, platform: "linux/amd64" as const, index: `sha256:${"b".repeat(64)}` };
    const one = { ...a, manifest: { ...a.manifest, images: [...a.manifest.images, extra] } };
    const other = { ...a, manifest: { ...a.manifest, images: [extra, ...a.manifest.images] } };
    expect(computeInputHash(one)).toBe(computeInputHash(other));
  });

  it("hashes the locked entries, not the local vmconfig entry of the manifest", async () => {
    const doc = inputDocument(await inputs()) as { dependencies: { name: string }[] };
    expect(doc.dependencies.map((d) => d.name)).not.toContain("vmconfig");
    expect(doc.dependencies.map((d) => d.name)).toContain("kube-apiserver");
  });
});
