import { chmod, readFile, stat, writeFile } from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it, onTestFinished } from "vitest";
import { AggregateWorkError } from "../../pipeline/errors/index.js";
import { fetchArtifacts } from "../../pipeline/fetch/index.js";
import { loadManifests } from "../../pipeline/manifest/index.js";
import { exportMirror, serveMirror } from "../../pipeline/mirror/index.js";
import { verifyCache } from "../../pipeline/verify/index.js";
import { startFixtureServer } from "../fixtures/http-server.js";
import { artifact, CLI, serveOnMirror, tempDir, writeManifest } from "../fetch/helpers.js";

async function filledCache() {
  const dir = await tempDir("pp-mirror-");
  const manifestsDir = path.join(dir, "manifests");
  const cacheDir = path.join(dir, "cache");
  const kubelet = artifact("kubelet", "amd64", 30_000);
  const deb = artifact("libpq5", "amd64", 20_000, { url: "https://deb.debian.org/debian/pool/main/p/postgresql-17/libpq5_17.9-0+deb13u1_amd64.deb", type: "deb" });
  const apiserver = artifact("kube-apiserver", "amd64", 10_000);
  await writeManifest(manifestsDir, "knd", "amd64", [kubelet, deb]);
  await writeManifest(manifestsDir, "knc", "amd64", [kubelet, deb, apiserver]);
  const upstream = await startFixtureServer();
  serveOnMirror(upstream, [kubelet, deb, apiserver]);
  const manifests = await loadManifests(manifestsDir);
  await fetchArtifacts({ manifests, cacheDir, mirror: upstream.url });
  await upstream.close();
  return { dir, manifestsDir, cacheDir, manifests, kubelet, deb, apiserver };
}

function get(url: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      })
      .on("error", reject);
  });
}

describe("mirror export and serve", () => {
  it("exports the <host>/<path> tree by hard link, serves it, and a fresh cache fetches from it", async () => {
    const f = await filledCache();
    const out = path.join(f.dir, "exported");
    const files = await exportMirror({ manifests: f.manifests, cacheDir: f.cacheDir, dir: out });
    expect(files.map((x) => path.relative(out, x.path)).sort()).toEqual([
      "deb.debian.org/debian/pool/main/p/postgresql-17/libpq5_17.9-0+deb13u1_amd64.deb",
      "dl.example.test/release/v1.0.0/linux/amd64/kube-apiserver",
      "dl.example.test/release/v1.0.0/linux/amd64/kubelet",
    ]);
    expect(files.every((x) => x.how === "linked")).toBe(true);
    const again = await exportMirror({ manifests: f.manifests, cacheDir: f.cacheDir, dir: out });
    expect(again.every((x) => x.how === "present")).toBe(true);
    expect((await stat(path.join(out, "dl.example.test/release/v1.0.0/linux/amd64/kubelet"))).nlink).toBe(2);

    const server = await serveMirror({ dir: out });
    onTestFinished(() => server.close());
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await get(`${server.url}/dl.example.test/release/v1.0.0/linux/amd64/kubelet`)).body).toEqual(f.kubelet.bytes);
    expect((await get(`${server.url}/deb.debian.org/debian/pool/main/p/postgresql-17/libpq5_17.9-0%2Bdeb13u1_amd64.deb`)).body).toEqual(f.deb.bytes);
    expect((await get(`${server.url}/nothing/here`)).status).toBe(404);
    expect((await get(`${server.url}/..%2F..%2Fetc%2Fpasswd`)).status).toBe(404);
    expect((await get(`${server.url}/dl.example.test`)).status).toBe(404);

    const fresh = await fetchArtifacts({ manifests: f.manifests, cacheDir: path.join(f.dir, "cache2"), mirror: server.url });
    expect(fresh.artifacts.map((a) => a.cacheHit)).toEqual([false, false, false]);
  });

  it("export refuses a missing or corrupt entry, one line each", async () => {
    const f = await filledCache();
    const summary = await fetchArtifacts({ manifests: f.manifests, cacheDir: f.cacheDir });
    const kubelet = summary.artifacts.find((a) => a.name === "kubelet")?.path ?? "";
    await chmod(kubelet, 0o644);
    await writeFile(kubelet, "tampered");
    const knc = await loadManifests(f.manifestsDir, { kinds: ["knc"] });
    const error = (await exportMirror({ manifests: knc, cacheDir: path.join(f.dir, "empty"), dir: path.join(f.dir, "out") }).catch((e: unknown) => e)) as AggregateWorkError;
    expect(error).toBeInstanceOf(AggregateWorkError);
    expect(error.errors.map((e) => e.message)).toContain("kubelet 1.0.0 amd64: not in the cache (run fetch first)");
    await expect(exportMirror({ manifests: knc, cacheDir: f.cacheDir, dir: path.join(f.dir, "out") })).rejects.toThrow(/kubelet 1\.0\.0 amd64: corrupt in the cache \(size 8, expected 30000/);
  });
});

describe("verify", () => {
  it("reports ok, corrupt and missing entries without changing the cache", async () => {
    const f = await filledCache();
    const summary = await fetchArtifacts({ manifests: f.manifests, cacheDir: f.cacheDir });
    const deb = summary.artifacts.find((a) => a.name === "libpq5")?.path ?? "";
    await chmod(deb, 0o644);
    const bytes = await readFile(deb);
    bytes[0] = (bytes[0] ?? 0) ^ 1;
    await writeFile(deb, bytes);
    const report = await verifyCache({ manifests: f.manifests, cacheDir: f.cacheDir });
    expect(report.ok).toBe(false);
    expect(report.artifacts.map((a) => [a.name, a.status])).toEqual([
      ["kube-apiserver", "ok"],
      ["kubelet", "ok"],
      ["libpq5", "corrupt"],
    ]);
    expect(await readFile(deb)).toEqual(bytes);

    const cli = await execa("node", [CLI, "verify", "--manifests", f.manifestsDir, "--cache", f.cacheDir], { reject: false, env: { CI: "1" } });
    expect(cli.exitCode).toBe(1);
    expect(cli.stdout).toContain("CORRUPT libpq5 1.0.0 amd64");
    expect(cli.stderr).toMatch(/^EINTEGRITY: libpq5 .* amd64: cache entry .* holds digest sha256-/m);

    const empty = await execa("node", [CLI, "verify", "--manifests", f.manifestsDir, "--cache", path.join(f.dir, "none"), "--json"], { reject: false });
    expect(empty.exitCode).toBe(0);
    expect(JSON.parse(empty.stdout)).toMatchObject({ ok: true, counts: { ok: 0, corrupt: 0, missing: 3 } });
  });
});

describe("mirror and pin CLI", () => {
  it("mirror serve prints its URL, serves until SIGINT, exits 0", async () => {
    const dir = await tempDir("pp-serve-");
    await writeFile(path.join(dir, "hello"), "hi");
    const child = execa("node", [CLI, "mirror", "serve", dir, "--port", "0"], { reject: false });
    const url = await new Promise<string>((resolve) => {
      child.stdout?.on("data", (chunk: Buffer) => resolve(chunk.toString().trim()));
    });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await get(`${url}/hello`)).body.toString()).toBe("hi");
    child.kill("SIGINT");
    expect((await child).exitCode).toBe(0);
  });

  it("pin exits 2 on an unknown dependency and names the known ones", async () => {
    const unknown = await execa("node", [CLI, "pin", "etcd@3.6.0"], { reject: false });
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain("kubernetes, kubelet");
  });
});
