// The "done when", on the stand-in set the end-to-end bake uses: `fetch --mirror` over
// a served loopback mirror fetches and verifies a knd and a knc set; a tampered mirror file is
// rejected with EINTEGRITY and nothing of it enters the cache. The stand-in pause image comes
// through the same mirror (its registry layout).
import { chmod, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it, onTestFinished } from "vitest";
import { serveMirror } from "../../pipeline/mirror/index.js";
import { generateStandinMirror } from "../fixtures/standins/index.js";
import { CLI, listFiles, tempDir } from "../fetch/helpers.js";

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
