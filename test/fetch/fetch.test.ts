import { chmod, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it, onTestFinished } from "vitest";
import { contentPath } from "../../pipeline/cache/index.js";
import { AggregateWorkError, WorkError } from "../../pipeline/errors/index.js";
import { fetchArtifacts, type FetchEvent, type FetchOptions } from "../../pipeline/fetch/index.js";
import { digestToIntegrity, loadManifests } from "../../pipeline/manifest/index.js";
import {
  failThen,
  redirectTo,
  resetMidBody,
  stall,
  startFixtureServer,
  truncated,
  wrongBytes,
  sendBytes,
  type FixtureServer,
} from "../fixtures/http-server.js";
import { artifact, digestOf, listFiles, mirrorPath, serveOnMirror, tempDir, writeManifest, type FixtureArtifact } from "./helpers.js";

const FAST_RETRY = { retries: 2, baseDelayMs: 10 };

async function server(host?: string): Promise<FixtureServer> {
  const s = await startFixtureServer(host ? { host } : {});
  onTestFinished(() => s.close());
  return s;
}

async function setup(artifacts: Record<"knd" | "knc", FixtureArtifact[]>) {
  const dir = await tempDir();
  const manifestsDir = path.join(dir, "manifests");
  const cacheDir = path.join(dir, "cache");
  await writeManifest(manifestsDir, "knd", "amd64", artifacts.knd);
  await writeManifest(manifestsDir, "knc", "amd64", artifacts.knc);
  const manifests = await loadManifests(manifestsDir);
  return { dir, manifestsDir, cacheDir, manifests };
}

async function fetchWith(options: Omit<FetchOptions, "retry"> & Partial<Pick<FetchOptions, "retry">>) {
  return fetchArtifacts({ retry: FAST_RETRY, timeoutMs: 2000, ...options });
}

async function rejection(promise: Promise<unknown>): Promise<WorkError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WorkError);
  return error as WorkError;
}

describe("fetchArtifacts", () => {
  it("fetches cold, dedupes identical digests across kinds, and a warm run makes no request", async () => {
    const kubelet = artifact("kubelet", "amd64", 300_000);
    const runc = artifact("runc", "amd64", 50_000);
    const apiserver = artifact("kube-apiserver", "amd64", 200_000, { algorithm: "sha512" });
    const { cacheDir, manifests } = await setup({ knd: [kubelet, runc], knc: [kubelet, runc, apiserver] });
    const mirror = await server();
    serveOnMirror(mirror, [kubelet, runc, apiserver]);

    const cold = await fetchWith({ manifests, cacheDir, mirror: mirror.url });
    expect(cold.artifacts.map((a) => a.name)).toEqual(["kube-apiserver", "kubelet", "runc"]);
    expect(mirror.count()).toBe(3); // kubelet and runc are needed by both kinds but fetched once
    const k = cold.artifacts.find((a) => a.name === "kubelet");
    expect(k).toMatchObject({ kinds: ["knd", "knc"], arches: ["amd64"], cacheHit: false, size: 300_000, digest: digestOf(kubelet.bytes) });
    expect(k?.path).toBe(contentPath(cacheDir, digestToIntegrity(digestOf(kubelet.bytes))));
    expect(cold.bytesDownloaded).toBe(550_000);
    expect(await listFiles(path.join(cacheDir, "tmp"))).toEqual([]);

    const warm = await fetchWith({ manifests, cacheDir, mirror: mirror.url });
    expect(mirror.count()).toBe(3);
    expect(warm.artifacts.every((a) => a.cacheHit)).toBe(true);
    expect(warm.bytesDownloaded).toBe(0);
  });

  it("rejects wrong bytes with EINTEGRITY and keeps nothing of them in the cache", async () => {
    const kubelet = artifact("kubelet", "amd64", 100_000);
    const { cacheDir, manifests } = await setup({ knd: [kubelet], knc: [kubelet] });
    const mirror = await server();
    mirror.route(mirrorPath(kubelet.url), wrongBytes(kubelet.bytes));
    const error = await rejection(fetchWith({ manifests, cacheDir, mirror: mirror.url }));
    expect(error.code).toBe("EINTEGRITY");
    expect(error.message).toContain("kubelet 1.0.0 amd64");
    expect(error.message).toContain(`expected ${digestOf(kubelet.bytes)}`);
    expect(error.message).toMatch(/found sha256:[0-9a-f]{64}/);
    expect(error.data).toMatchObject({ url: `${mirror.url}${mirrorPath(kubelet.url)}`, expected: digestOf(kubelet.bytes) });
    expect(mirror.count()).toBe(1); // a digest mismatch is final, not retried
    expect(await listFiles(cacheDir)).toEqual([]);
  });

  it("reports every failure of a run, one error each: 404, short body, long body, unpinned is refused before work", async () => {
    const missing = artifact("kubelet", "amd64", 10_000);
    const short = artifact("runc", "amd64", 10_000);
    const long = artifact("zot", "amd64", 10_000);
    const fine = artifact("crictl", "amd64", 10_000);
    const { cacheDir, manifests } = await setup({ knd: [missing, short, long, fine], knc: [fine] });
    const mirror = await server();
    mirror.route(mirrorPath(short.url), truncated(short.bytes, 4000));
    mirror.file(mirrorPath(long.url), Buffer.concat([long.bytes, Buffer.from("extra")]));
    mirror.file(mirrorPath(fine.url), fine.bytes);
    const error = await rejection(fetchWith({ manifests, cacheDir, mirror: mirror.url }));
    expect(error).toBeInstanceOf(AggregateWorkError);
    const codes = (error as AggregateWorkError).errors.map((e) => `${(e as WorkError).code} ${e.message}`).sort();
    expect(codes).toHaveLength(3);
    expect(codes[0]).toMatch(/^EBADSIZE runc 1\.0\.0 amd64: size mismatch: expected 10000 bytes, .* announces 4000$/);
    expect(codes[1]).toMatch(/^EBADSIZE zot 1\.0\.0 amd64: size mismatch: expected 10000 bytes, .* announces 10005$/);
    expect(codes[2]).toBe(`ENOTFOUND kubelet 1.0.0 amd64: not found (HTTP 404): ${mirror.url}${mirrorPath(missing.url)}`);
    expect(mirror.count(mirrorPath(missing.url))).toBe(1); // 404 is not retried
    // the good artifact is in the cache, nothing of the bad ones
    expect(await listFiles(path.join(cacheDir, "content-v2"))).toHaveLength(1);
    expect(await listFiles(path.join(cacheDir, "tmp"))).toEqual([]);
  });

  it("detects a body that ends short without a Content-Length as EBADSIZE", async () => {
    const kubelet = artifact("kubelet", "amd64", 20_000);
    const { cacheDir, manifests } = await setup({ knd: [kubelet], knc: [kubelet] });
    const mirror = await server();
    mirror.route(mirrorPath(kubelet.url), (_req, res) => {
      res.writeHead(200, { "transfer-encoding": "chunked" });
      res.end(kubelet.bytes.subarray(0, 5000));
    });
    const error = await rejection(fetchWith({ manifests, cacheDir, mirror: mirror.url }));
    expect(error.code).toBe("EBADSIZE");
    expect(error.message).toContain("expected 20000 bytes, found 5000");
    expect(await listFiles(cacheDir)).toEqual([]);
  });

  it("retries 5xx, connection resets and stalls, then succeeds", async () => {
    const a = artifact("kubelet", "amd64", 200_000);
    const b = artifact("runc", "amd64", 200_000);
    const c = artifact("zot", "amd64", 200_000);
    const { cacheDir, manifests } = await setup({ knd: [a, b, c], knc: [a] });
    const mirror = await server();
    mirror.route(mirrorPath(a.url), failThen(2, 503, sendBytes(a.bytes)));
    mirror.route(mirrorPath(b.url), resetMidBody(b.bytes, 60_000, 1));
    mirror.route(mirrorPath(c.url), stall(c.bytes, 10_000, 1));
    const events: FetchEvent[] = [];
    const summary = await fetchWith({ manifests, cacheDir, mirror: mirror.url, timeoutMs: 300, onEvent: (e) => events.push(e) });
    expect(summary.artifacts.map((x) => x.cacheHit)).toEqual([false, false, false]);
    expect(mirror.count(mirrorPath(a.url))).toBe(3);
    expect(mirror.count(mirrorPath(b.url))).toBe(2);
    expect(mirror.count(mirrorPath(c.url))).toBe(2);
    expect(events.filter((e) => e.type === "retry").map((e) => e.job.name).sort()).toEqual(["kubelet", "kubelet", "runc", "zot"]);
    expect(await listFiles(path.join(cacheDir, "tmp"))).toEqual([]);
  });

  it("gives up after the retries with the status and URL", async () => {
    const a = artifact("kubelet", "amd64", 1000);
    const { cacheDir, manifests } = await setup({ knd: [a], knc: [a] });
    const mirror = await server();
    mirror.route(mirrorPath(a.url), failThen(99, 500, sendBytes(a.bytes)));
    const error = await rejection(fetchWith({ manifests, cacheDir, mirror: mirror.url }));
    expect(error.code).toBe("EHTTP");
    expect(error.message).toBe(`kubelet 1.0.0 amd64: HTTP 500 from ${mirror.url}${mirrorPath(a.url)} after 3 attempts`);
  });

  it("follows a redirect to another host", async () => {
    const a = artifact("kubelet", "amd64", 50_000);
    const { cacheDir, manifests } = await setup({ knd: [a], knc: [a] });
    const mirror = await server();
    const other = await server("127.0.0.2");
    other.file("/objects/kubelet", a.bytes);
    mirror.route(mirrorPath(a.url), redirectTo(`${other.url}/objects/kubelet`));
    const summary = await fetchWith({ manifests, cacheDir, mirror: mirror.url });
    expect(summary.artifacts[0]?.cacheHit).toBe(false);
    expect(other.count("/objects/kubelet")).toBe(1);
  });

  it("evicts a corrupted cache entry and fetches it again once", async () => {
    const a = artifact("kubelet", "amd64", 40_000);
    const { cacheDir, manifests } = await setup({ knd: [a], knc: [a] });
    const mirror = await server();
    serveOnMirror(mirror, [a]);
    const first = await fetchWith({ manifests, cacheDir, mirror: mirror.url });
    const entry = first.artifacts[0]?.path ?? "";
    await chmod(entry, 0o644);
    await writeFile(entry, Buffer.alloc(40_000, 1));
    const events: FetchEvent[] = [];
    const second = await fetchWith({ manifests, cacheDir, mirror: mirror.url, onEvent: (e) => events.push(e) });
    expect(second.artifacts[0]).toMatchObject({ cacheHit: false, path: entry });
    expect(events.some((e) => e.type === "evicted")).toBe(true);
    expect(mirror.count()).toBe(2);
    const third = await fetchWith({ manifests, cacheDir, mirror: mirror.url });
    expect(third.artifacts[0]?.cacheHit).toBe(true);
    expect(mirror.count()).toBe(2);
  });

  it("reads a mirror directory or file:// URL", async () => {
    const a = artifact("kubelet", "amd64", 10_000, { url: "https://dl.example.test/pool/libpq5_17.9-0+deb13u1_amd64.deb", type: "deb" });
    const { dir, cacheDir, manifests } = await setup({ knd: [a], knc: [a] });
    const mirrorDir = path.join(dir, "mirror");
    await mkdir(path.join(mirrorDir, "dl.example.test/pool"), { recursive: true });
    await writeFile(path.join(mirrorDir, "dl.example.test/pool/libpq5_17.9-0+deb13u1_amd64.deb"), a.bytes);
    const viaDir = await fetchWith({ manifests, cacheDir, mirror: mirrorDir });
    expect(viaDir.artifacts[0]?.cacheHit).toBe(false);
    const other = path.join(dir, "cache2");
    const viaUrl = await fetchWith({ manifests, cacheDir: other, mirror: pathToFileURL(mirrorDir).href });
    expect(viaUrl.artifacts[0]?.cacheHit).toBe(false);
    const error = await rejection(fetchWith({ manifests, cacheDir: path.join(dir, "cache3"), mirror: path.join(dir, "nowhere") }));
    expect(error.code).toBe("ENOTFOUND");
    expect(error.message).toContain(path.join(dir, "nowhere", "dl.example.test/pool/libpq5_17.9-0+deb13u1_amd64.deb"));
  });

  it("refuses an unpinned dependency before any request", async () => {
    const a = artifact("kubelet", "amd64", 1000);
    const { cacheDir } = await setup({ knd: [a], knc: [a] });
    const manifests = await loadManifests(path.join(REPO_MANIFESTS), { kinds: ["knd"], arches: ["amd64"] });
    const mirror = await server();
    const error = await rejection(fetchWith({ manifests, cacheDir, mirror: mirror.url }));
    expect(error.code).toBe("EUNPINNED");
    expect(error.message).toContain("kube2iam 0.11.2 is not pinned");
    expect(mirror.count()).toBe(0);
  });

  it("an abort mid-download leaves no partial file in the cache", async () => {
    const a = artifact("kubelet", "amd64", 100_000);
    const { cacheDir, manifests } = await setup({ knd: [a], knc: [a] });
    const mirror = await server();
    mirror.route(mirrorPath(a.url), stall(a.bytes, 30_000));
    const controller = new AbortController();
    const pending = fetchWith({
      manifests,
      cacheDir,
      mirror: mirror.url,
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === "bytes") controller.abort(new Error("SIGINT"));
      },
    });
    const error = await rejection(pending);
    expect(error.code).toBe("EABORTED");
    expect(await listFiles(cacheDir)).toEqual([]);
  });
});

const REPO_MANIFESTS = path.resolve(import.meta.dirname, "../../manifests");
