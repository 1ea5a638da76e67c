import { writeFile, readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { digestToIntegrity, integrityToDigest, loadManifests, ManifestError, parseManifest } from "../../pipeline/manifest/index.js";
import { tempDir } from "../helpers/temp-dir.js";

const MANIFESTS = path.resolve(import.meta.dirname, "../../manifests");

describe("lock manifests", () => {
  it("loads the four seeded manifests with kube2iam present but unpinned", async () => {
    const manifests = await loadManifests(MANIFESTS);
    expect(manifests.map((m) => `${m.kind}.${m.os}.${m.arch}`)).toEqual([
      "knc.debian-13.amd64",
      "knc.debian-13.arm64",
      "knd.debian-13.amd64",
      "knd.debian-13.arm64",
    ]);
    for (const m of manifests) {
      const kube2iam = m.dependencies.find((d) => d.name === "kube2iam");
      expect(kube2iam?.integrity).toBeUndefined();
      expect(m.dependencies.find((d) => d.name === "vmconfig")?.local).toBe(true);
      expect(m.baseImage.integrity).toMatch(/^sha512-/);
    }
    const knd = manifests.find((m) => m.kind === "knd" && m.arch === "amd64");
    expect(knd?.dependencies.map((d) => d.name)).not.toContain("kube-apiserver");
  });

  it("selects by kind and arch", async () => {
    const manifests = await loadManifests(MANIFESTS, { kinds: ["knd"], arches: ["arm64"] });
    expect(manifests).toHaveLength(1);
    expect(manifests[0]?.file).toMatch(/knd\.debian-13\.arm64\.json$/);
  });

  it("names the file, the JSON path, what was expected and what was found", async () => {
    const text = await readFile(path.join(MANIFESTS, "knd.debian-13.amd64.json"), "utf8");
    const lock = JSON.parse(text) as { vmconfig: { dependencies: Record<string, Record<string, unknown>> } };
    const kubelet = lock.vmconfig.dependencies.kubelet!;
    kubelet.digest = "sha256:nothex";
    kubelet.size = "big";
    const { manifest, problems } = parseManifest("m/knd.debian-13.amd64.json", JSON.stringify(lock));
    expect(manifest).toBeUndefined();
    expect(problems).toContain(
      'm/knd.debian-13.amd64.json: vmconfig.dependencies.kubelet.digest: expected a digest of the form sha256:<64 hex> or sha512:<128 hex>, found "sha256:nothex"',
    );
    expect(problems).toContain('m/knd.debian-13.amd64.json: vmconfig.dependencies.kubelet.size: expected number, found "big"');
  });

  it("rejects a kind that disagrees with the file name and invalid JSON, all problems at once", async () => {
    const dir = await tempDir();
    const text = await readFile(path.join(MANIFESTS, "knd.debian-13.amd64.json"), "utf8");
    await writeFile(path.join(dir, "knc.debian-13.amd64.json"), text);
    await writeFile(path.join(dir, "knd.debian-13.amd64.json"), "{ not json");
    const error = await loadManifests(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ManifestError);
    const problems = (error as ManifestError).problems;
    expect(problems.some((p) => p.includes('knc.debian-13.amd64.json: vmconfig.kind: expected "knc" (from the file name), found "knd"'))).toBe(true);
    expect(problems.some((p) => p.includes("knd.debian-13.amd64.json: (root): expected valid JSON"))).toBe(true);
  });

  it("converts Podplane digests to SRI and back", () => {
    const digest = "sha256:7efa1780c73d9fb3a464002864e582eb2d15aa691e475eaae323093d08feae14";
    const sri = digestToIntegrity(digest);
    expect(sri).toBe(`sha256-${Buffer.from(digest.slice(7), "hex").toString("base64")}`);
    expect(integrityToDigest(sri)).toBe(digest);
    expect(() => digestToIntegrity("md5:abc")).toThrow(/sha256:<hex>/);
  });
});
