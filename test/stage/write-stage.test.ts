import { createHash } from "node:crypto";
import { readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { FetchedArtifact } from "../../pipeline/fetch/index.js";
import { loadManifests } from "../../pipeline/manifest/index.js";
import { artifactsTsv, upstreamFileName, writeStage } from "../../pipeline/stage/index.js";
import { generateStandinMirror } from "../fixtures/standins/index.js";
import { tempDir } from "../packer/fake-packer.js";

async function fixture() {
  const dir = await tempDir("stage-");
  const mirror = await generateStandinMirror({ dir, kinds: ["knc"], arches: ["amd64"] });
  const [manifest] = await loadManifests(mirror.manifestsDir, { kinds: ["knc"], arches: ["amd64"] });
  if (!manifest) throw new Error("no fixture manifest");
  const fetched: FetchedArtifact[] = mirror.artifacts.map((a) => ({
    name: a.name,
    version: a.version,
    kinds: ["knc"],
    arches: ["amd64"],
    url: a.url,
    digest: a.digest,
    integrity: "",
    size: a.size,
    path: a.path,
    cacheHit: true,
    seconds: 0,
  }));
  const vmconfigFile = path.join(dir, "vmconfig.tar.gz");
  await writeFile(vmconfigFile, "vmconfig archive");
  return { dir, manifest, fetched, vmconfig: { path: vmconfigFile, digest: "sha256:x", size: 16 } };
}

describe("stage directory", () => {
  it("lays out artifacts.tsv, artifacts/<name>/<upstream file>, vmconfig.tar.gz and the manifest", async () => {
    const { dir, manifest, fetched, vmconfig } = await fixture();
    const stageDir = path.join(dir, "stage");
    const stage = await writeStage({ dir: stageDir, manifest, fetched, vmconfig });
    const lines = (await readFile(path.join(stageDir, "artifacts.tsv"), "utf8")).trimEnd().split("\n");
    const names = lines.map((l) => l.split("\t")[0]);
    expect(names).toEqual([...names].sort());
    expect(names).toContain("kube-apiserver");
    expect(names).not.toContain("vmconfig");
    const containerd = lines.find((l) => l.startsWith("containerd\t"))?.split("\t");
    expect(containerd).toEqual(["containerd", "2.3.1", "tar.gz", expect.stringMatching(/^sha256:[0-9a-f]{64}$/), "artifacts/containerd/containerd-2.3.1-linux-amd64.tar.gz"]);
    // Every staged file matches its digest, the way install.sh checks it (sha256sum/sha512sum).
    for (const line of lines) {
      const [, , , digest, rel] = line.split("\t") as [string, string, string, string, string];
      const [algo, hex] = digest.split(":") as [string, string];
      expect(createHash(algo).update(await readFile(path.join(stageDir, rel))).digest("hex"), rel).toBe(hex);
    }
    expect(await readFile(path.join(stageDir, "vmconfig.tar.gz"), "utf8")).toBe("vmconfig archive");
    expect(await readFile(path.join(stageDir, "manifest.json"), "utf8")).toBe(await readFile(manifest.file, "utf8"));
    expect(stage.bytes).toBe(stage.artifacts.reduce((s, a) => s + a.size, 0));
    expect((await stat(path.join(stageDir, "artifacts", "runc", "runc.amd64"))).size).toBeGreaterThan(0);
  });

  it("refuses to stage when a dependency was not fetched, naming it", async () => {
    const { dir, manifest, fetched, vmconfig } = await fixture();
    const without = fetched.filter((f) => f.name !== "kubelet");
    await expect(writeStage({ dir: path.join(dir, "stage"), manifest, fetched: without, vmconfig })).rejects.toThrow(/no verified artifact in the fetch results for kubelet 1\.36\.1/);
  });

  it("takes file names from URLs and writes TSV lines sorted by name", () => {
    expect(upstreamFileName("https://github.com/opencontainers/runc/releases/download/v1.4.2/runc.amd64")).toBe("runc.amd64");
    expect(upstreamFileName("https://packages.fluentbit.io/debian/trixie/pool/main/f/fluent-bit/fluent-bit_5.0.5_amd64.deb")).toBe("fluent-bit_5.0.5_amd64.deb");
    expect(() => upstreamFileName("https://example.org/")).toThrow(/cannot take a file name/);
    expect(artifactsTsv([
      { name: "zot", version: "2", type: "binary", digest: "sha256:b", relativePath: "artifacts/zot/zot", size: 1 },
      { name: "crictl", version: "1", type: "tar.gz", digest: "sha512:a", relativePath: "artifacts/crictl/c.tgz", size: 1 },
    ])).toBe("crictl\t1\ttar.gz\tsha512:a\tartifacts/crictl/c.tgz\nzot\t2\tbinary\tsha256:b\tartifacts/zot/zot\n");
  });
});
