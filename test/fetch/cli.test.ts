// The built CLI as a user runs it: exit codes, --json, two processes on one cache, Ctrl-C.
// Needs `npm run build` first (npm run test:fast does it).
import { existsSync } from "node:fs";
import path from "node:path";
import { execa, type ResultPromise } from "execa";
import { beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { checkEntry } from "../../pipeline/cache/index.js";
import { digestToIntegrity } from "../../pipeline/manifest/index.js";
import { stall, startFixtureServer, trickle, wrongBytes, type FixtureServer } from "../fixtures/http-server.js";
import { artifact, CLI, digestOf, listFiles, mirrorPath, REPO, serveOnMirror, tempDir, writeManifest } from "./helpers.js";

function run(args: string[], env: Record<string, string> = {}): ResultPromise<{ reject: false; env: Record<string, string> }> {
  return execa("node", [CLI, ...args], { reject: false, env: { CI: "1", ...env } });
}

async function server(): Promise<FixtureServer> {
  const s = await startFixtureServer();
  onTestFinished(() => s.close());
  return s;
}

async function fixture(size = 200_000) {
  const dir = await tempDir("pp-cli-");
  const manifests = path.join(dir, "manifests");
  const cache = path.join(dir, "cache");
  const kubelet = artifact("kubelet", "amd64", size);
  const runc = artifact("runc", "amd64", size / 2);
  await writeManifest(manifests, "knd", "amd64", [kubelet, runc]);
  await writeManifest(manifests, "knc", "amd64", [kubelet, runc]);
  return { dir, manifests, cache, kubelet, runc };
}

beforeAll(() => {
  if (!existsSync(path.join(REPO, "dist/cli/main.js"))) throw new Error("run `npm run build` first");
});

describe("podplane-images fetch (CLI)", () => {
  it("exits 0 with one JSON document; a warm run makes zero requests", async () => {
    const f = await fixture();
    const mirror = await server();
    serveOnMirror(mirror, [f.kubelet, f.runc]);
    const cold = await run(["fetch", "--manifests", f.manifests, "--cache", f.cache, "--mirror", mirror.url, "--json"]);
    expect(cold.exitCode, cold.stderr).toBe(0);
    const doc = JSON.parse(cold.stdout) as { ok: boolean; artifacts: { name: string; kinds: string[]; cacheHit: boolean; downloaded: boolean; digest: string }[] };
    expect(doc.ok).toBe(true);
    expect(doc.artifacts.map((a) => [a.name, a.kinds.join(","), a.downloaded])).toEqual([
      ["kubelet", "knd,knc", true],
      ["runc", "knd,knc", true],
    ]);
    expect(mirror.count()).toBe(2);
    expect(cold.stderr).toContain("kubelet 1.0.0 amd64: downloaded");

    const warm = await run(["fetch", "--manifests", f.manifests, "--json"], { PODPLANE_IMAGES_CACHE: f.cache, PODPLANE_IMAGES_MIRROR: mirror.url });
    expect(warm.exitCode, warm.stderr).toBe(0);
    expect((JSON.parse(warm.stdout) as { artifacts: { cacheHit: boolean }[] }).artifacts.every((a) => a.cacheHit)).toBe(true);
    expect(mirror.count()).toBe(2);
  });

  it("exits 1 on a tampered mirror, one line per bad artifact, nothing of it cached", async () => {
    const f = await fixture(50_000);
    const mirror = await server();
    mirror.route(mirrorPath(f.kubelet.url), wrongBytes(f.kubelet.bytes));
    const result = await run(["fetch", "--manifests", f.manifests, "--cache", f.cache, "--mirror", mirror.url]);
    expect(result.exitCode).toBe(1);
    const lines = result.stderr.split("\n").filter((l) => /^E[A-Z]+: /.test(l));
    expect(lines).toHaveLength(2);
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^EINTEGRITY: kubelet 1\\.0\\.0 amd64: digest mismatch: expected ${digestOf(f.kubelet.bytes)}, found sha256:[0-9a-f]{64} \\(from http://`)));
    expect(lines).toContainEqual(expect.stringMatching(/^ENOTFOUND: runc 1\.0\.0 amd64: not found \(HTTP 404\): http:\/\/127\.0\.0\.1:\d+\/dl\.example\.test\/release\/v1\.0\.0\/linux\/amd64\/runc$/));
    expect(await listFiles(f.cache)).toEqual([]);

    const json = await run(["fetch", "--manifests", f.manifests, "--cache", f.cache, "--mirror", mirror.url, "--json"]);
    expect(json.exitCode).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, error: { code: "EMULTIPLE" } });
  });

  it("exits 2 on bad usage or an invalid manifest", async () => {
    const f = await fixture(1000);
    const badFlag = await run(["fetch", "--kind", "knx", "--manifests", f.manifests]);
    expect(badFlag.exitCode).toBe(2);
    expect(badFlag.stderr).toContain('unknown kind "knx"');
    const missingDir = await run(["fetch", "--manifests", path.join(f.dir, "nope"), "--cache", f.cache]);
    expect(missingDir.exitCode).toBe(2);
  });

  it("two fetch processes sharing one cache both succeed and leave valid entries only", async () => {
    const f = await fixture(3_000_000);
    const mirror = await server();
    mirror.route(mirrorPath(f.kubelet.url), trickle(f.kubelet.bytes, 256 * 1024, 5));
    mirror.route(mirrorPath(f.runc.url), trickle(f.runc.bytes, 256 * 1024, 5));
    const args = ["fetch", "--manifests", f.manifests, "--cache", f.cache, "--mirror", mirror.url, "--json"];
    const [a, b] = await Promise.all([run(args), run(args)]);
    expect(a.exitCode, a.stderr).toBe(0);
    expect(b.exitCode, b.stderr).toBe(0);
    for (const x of [f.kubelet, f.runc]) {
      const check = await checkEntry(f.cache, digestToIntegrity(digestOf(x.bytes)), x.bytes.length);
      expect(check.status).toBe("ok");
    }
    expect(await listFiles(path.join(f.cache, "content-v2"))).toHaveLength(2);
    expect(await listFiles(path.join(f.cache, "tmp"))).toEqual([]);
  });

  it.each(["SIGINT", "SIGTERM"] as const)("a %s mid-download leaves no partial file in the cache", async (signal) => {
    const f = await fixture(2_000_000);
    const mirror = await server();
    mirror.route(mirrorPath(f.kubelet.url), stall(f.kubelet.bytes, 500_000));
    mirror.route(mirrorPath(f.runc.url), stall(f.runc.bytes, 300_000));
    const child = run(["fetch", "--manifests", f.manifests, "--cache", f.cache, "--mirror", mirror.url]);
    // wait until both downloads are under way (temp files exist in the cache)
    for (let i = 0; i < 200 && (await listFiles(path.join(f.cache, "tmp"))).length < 2; i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
    expect((await listFiles(path.join(f.cache, "tmp"))).length).toBe(2);
    child.kill(signal);
    const result = await child;
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain("EABORTED");
    expect(await listFiles(f.cache)).toEqual([]);
  });

  it("a SIGKILL mid-download leaves no entry, only an unused temp file, and the next fetch completes", async () => {
    const f = await fixture(2_000_000);
    const mirror = await server();
    mirror.route(mirrorPath(f.kubelet.url), stall(f.kubelet.bytes, 500_000, 1));
    mirror.route(mirrorPath(f.runc.url), stall(f.runc.bytes, 300_000, 1));
    const child = run(["fetch", "--manifests", f.manifests, "--cache", f.cache, "--mirror", mirror.url]);
    for (let i = 0; i < 200 && (await listFiles(path.join(f.cache, "tmp"))).length < 2; i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
    child.kill("SIGKILL");
    await child;
    expect(await listFiles(path.join(f.cache, "content-v2"))).toEqual([]);
    const next = await run(["fetch", "--manifests", f.manifests, "--cache", f.cache, "--mirror", mirror.url]);
    expect(next.exitCode, next.stderr).toBe(0);
    expect(await listFiles(path.join(f.cache, "content-v2"))).toHaveLength(2);
  });
});
