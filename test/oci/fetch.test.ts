// Fetching pinned images by digest from an in-process registry on 127.0.0.1: cold and warm,
// bearer tokens, redirects to blob storage, and every kind of bad content the issue names.
import path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { WorkError } from "../../pipeline/errors/index.js";
import { fetchArtifacts } from "../../pipeline/fetch/index.js";
import { loadManifests } from "../../pipeline/manifest/index.js";
import { listImageContent } from "../../pipeline/oci/index.js";
import { contentPath, parseIntegrity } from "../../pipeline/cache/index.js";
import { digestToIntegrity } from "../../pipeline/manifest/digest.js";
import { startFixtureServer, sendBytes, wrongBytes } from "../fixtures/http-server.js";
import { listFiles, tempDir, writeManifest } from "../fetch/helpers.js";
import { buildFixtureImage, imageEntry, type FixtureImage } from "./image-fixture.js";
import { startFakeRegistry, type FakeRegistryOptions } from "./fake-registry.js";

const REPO = "pause";
const NO_RETRY = { retries: 0, baseDelayMs: 1 };

async function setup(options: FakeRegistryOptions & { image?: FixtureImage; entries?: (ref: string, image: FixtureImage) => Record<string, Record<string, unknown>> } = {}) {
  const dir = await tempDir("pp-oci-");
  const image = options.image ?? (await buildFixtureImage());
  const registry = await startFakeRegistry(REPO, image, options);
  onTestFinished(() => registry.close());
  const ref = `${registry.registry}/${REPO}:3.10.2`;
  const manifestsDir = path.join(dir, "manifests");
  const entries = options.entries?.(ref, image) ?? {};
  for (const kind of ["knd", "knc"] as const) {
    for (const arch of ["amd64", "arm64"] as const) {
      await writeManifest(manifestsDir, kind, arch, [], [entries[arch] ?? imageEntry(ref, image, arch)]);
    }
  }
  const cacheDir = path.join(dir, "cache");
  const fetch = async (extra: { mirror?: string } = {}) =>
    fetchArtifacts({ manifests: await loadManifests(manifestsDir), cacheDir, images: true, retry: NO_RETRY, ...extra });
  return { dir, image, registry, ref, manifestsDir, cacheDir, fetch };
}

async function failure(promise: Promise<unknown>): Promise<WorkError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WorkError);
  return error as WorkError;
}

function cached(cacheDir: string, digest: string): string {
  return path.relative(cacheDir, contentPath(cacheDir, parseIntegrity(digestToIntegrity(digest)).integrity));
}

describe("fetch images", () => {
  it("cold: index, both platform manifests, configs and layers, each once across kinds; warm: zero requests", async () => {
    const { image, registry, cacheDir, fetch } = await setup();
    const cold = await fetch();
    expect(cold.images).toHaveLength(2); // amd64 and arm64, each shared by knd and knc
    expect(cold.images?.map((i) => [i.platform, i.kinds, i.cacheHit])).toEqual([
      ["linux/amd64", ["knd", "knc"], false],
      ["linux/arm64", ["knd", "knc"], false],
    ]);
    const total = image.index.length + image.platforms.reduce((sum, p) => sum + p.size, 0);
    expect(cold.bytesDownloaded).toBe(total);
    // every piece requested exactly once: 1 index + 2 manifests + 4 blobs
    expect(registry.server.count()).toBe(7);
    const files = await listFiles(cacheDir);
    for (const digest of [image.indexDigest, ...image.manifests.keys(), ...image.blobs.keys()]) expect(files).toContain(cached(cacheDir, digest));
    // what the stage will import: every path listed, verified
    const content = await listImageContent(cacheDir, { image: "x", platform: "linux/arm64", index: image.indexDigest, digest: image.platforms[1]?.digest ?? "", size: image.platforms[1]?.size ?? 0 });
    expect(content.layers.map((l) => l.digest)).toEqual([image.platforms[1]?.layer.digest]);
    expect(content.config.path).toBe(contentPath(cacheDir, digestToIntegrity(image.platforms[1]?.config.digest ?? "")));

    const warm = await fetch();
    expect(registry.server.count()).toBe(7);
    expect(warm.images?.every((i) => i.cacheHit)).toBe(true);
    expect(warm.bytesDownloaded).toBe(0);
  });

  it("gets an anonymous bearer token when the registry asks, and sends it only to the registry", async () => {
    const storage = await startFixtureServer({ host: "127.0.0.2" });
    onTestFinished(() => storage.close());
    const { registry, fetch } = await setup({ token: "t0ken", blobStorage: storage });
    const summary = await fetch();
    expect(summary.images?.every((i) => !i.cacheHit)).toBe(true);
    expect(registry.server.count("/token")).toBeGreaterThanOrEqual(1);
    const byRegistry = registry.authorizations.filter((a) => a.path.startsWith("/v2/") && a.authorization !== undefined);
    expect(byRegistry.every((a) => a.authorization === "Bearer t0ken")).toBe(true);
    // blobs were redirected to storage on another host, which never saw the token
    const atStorage = registry.authorizations.filter((a) => a.path.startsWith("/storage/"));
    expect(atStorage).toHaveLength(4);
    expect(atStorage.every((a) => a.authorization === undefined)).toBe(true);
  });

  it("a tampered manifest is refused (EINTEGRITY naming image, digest and URL); nothing of it is cached", async () => {
    const { image, registry, cacheDir, fetch } = await setup();
    const amd64 = image.platforms[0];
    if (!amd64) throw new Error("no amd64");
    registry.override(REPO, "manifests", amd64.digest, wrongBytes(amd64.manifest));
    const error = await failure(fetch());
    const line = error instanceof AggregateError ? "" : error.message;
    expect(error.code).toBe("EINTEGRITY");
    expect(line).toContain(`127.0.0.1:${registry.server.port}/pause:3.10.2 linux/amd64`);
    expect(line).toContain(amd64.digest);
    expect(line).toContain(`${registry.server.url}/v2/pause/manifests/${amd64.digest}`);
    expect(await listFiles(cacheDir)).not.toContain(cached(cacheDir, amd64.digest));
    expect(await listFiles(cacheDir)).not.toContain(cached(cacheDir, amd64.layer.digest));
  });

  it("a tampered layer is refused and not cached; the other platform still completes", async () => {
    const { image, registry, cacheDir, fetch } = await setup();
    const arm64 = image.platforms[1];
    if (!arm64) throw new Error("no arm64");
    registry.override(REPO, "blobs", arm64.layer.digest, wrongBytes(arm64.layer.bytes));
    const error = await failure(fetch());
    expect(error.code).toBe("EINTEGRITY");
    expect(error.message).toMatch(new RegExp(`pause:3\\.10\\.2 linux/arm64 layer ${arm64.layer.digest}: digest mismatch: expected ${arm64.layer.digest}, found sha256:[0-9a-f]{64} \\(from ${registry.server.url}/v2/pause/blobs/${arm64.layer.digest}\\)`));
    const files = await listFiles(cacheDir);
    expect(files).not.toContain(cached(cacheDir, arm64.layer.digest));
    expect(files).toContain(cached(cacheDir, image.platforms[0]?.layer.digest ?? ""));
    expect(files.filter((f) => f.startsWith("tmp/"))).toEqual([]);
  });

  it("an index without the manifest's platform is a clear error naming image and platform", async () => {
    const amd64Only = await buildFixtureImage(["amd64"]);
    const both = await buildFixtureImage();
    // the lock pins an index that has amd64 only, for an arm64 manifest too
    const { fetch } = await setup({
      image: amd64Only,
      entries: (ref) => ({ arm64: { image: ref, digest: both.platforms[1]?.digest, size: both.platforms[1]?.size, platform: "linux/arm64", index: amd64Only.indexDigest } }),
    });
    const error = await failure(fetch());
    expect(error.code).toBe("ENOPLATFORM");
    expect(error.message).toMatch(/pause:3\.10\.2: index sha256:[0-9a-f]{64} \(.*\) has no linux\/arm64 manifest \(it has linux\/amd64\)/);
  });

  it("a blob larger than its pinned size stops at that size and is not cached", async () => {
    const { image, registry, cacheDir, fetch } = await setup();
    const amd64 = image.platforms[0];
    if (!amd64) throw new Error("no amd64");
    const huge = Buffer.concat([amd64.layer.bytes, Buffer.alloc(32 * 1024 * 1024)]);
    let sent = 0;
    registry.override(REPO, "blobs", amd64.layer.digest, (_req, res) => {
      res.writeHead(200, { "content-type": "application/octet-stream" }); // chunked: no length to refuse up front
      const push = () => {
        while (sent < huge.length) {
          const chunk = huge.subarray(sent, sent + 65536);
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once("drain", push);
        }
        res.end();
      };
      push();
    });
    const error = await failure(fetch());
    expect(error.code).toBe("EBADSIZE");
    expect(error.message).toContain(`linux/amd64 layer ${amd64.layer.digest}: size mismatch`);
    expect(error.message).toContain(`expected ${amd64.layer.bytes.length} bytes, found more than ${amd64.layer.bytes.length}`);
    expect(await listFiles(cacheDir)).not.toContain(cached(cacheDir, amd64.layer.digest));
    expect(sent).toBeLessThan(huge.length); // the client stopped reading; the server never got to send it all
  });

  it("a blob whose announced length differs from its pin is refused before reading it", async () => {
    const { image, registry, fetch } = await setup();
    const amd64 = image.platforms[0];
    if (!amd64) throw new Error("no amd64");
    registry.override(REPO, "blobs", amd64.config.digest, sendBytes(Buffer.concat([amd64.config.bytes, Buffer.from("x")])));
    const error = await failure(fetch());
    expect(error.code).toBe("EBADSIZE");
    expect(error.message).toContain(`announces ${amd64.config.bytes.length + 1}`);
  });

  it("an image whose manifest adds up to more than its pinned size fetches no blob", async () => {
    const { registry, fetch } = await setup({ entries: (ref, image) => ({ amd64: { ...imageEntry(ref, image, "amd64"), size: (image.platforms[0]?.size ?? 0) - 1 } }) });
    const error = await failure(fetch());
    expect(error.code).toBe("EBADSIZE");
    expect(error.message).toMatch(/linux\/amd64: manifest sha256:[0-9a-f]{64} adds up to \d+ bytes \(manifest \+ config \+ layers\), the lock manifest pins \d+/);
    const amd64Blobs = registry.server.requests.filter((r) => r.path.includes("/blobs/"));
    expect(amd64Blobs.length).toBeLessThanOrEqual(2); // only arm64's config and layer
  });
});
