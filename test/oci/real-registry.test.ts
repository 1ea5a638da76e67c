// The CLI against Debian's docker-registry on 127.0.0.1 over plain HTTP, the image pushed by
// skopeo: pin image writes the pins, fetch brings the image in, a warm fetch works with the
// registry gone, and a mirror exported from the cache and served serves a fresh cache.
import { cp, readFile, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it, onTestFinished } from "vitest";
import { CLI, REPO, tempDir } from "../fetch/helpers.js";
import { buildFixtureImage } from "./image-fixture.js";
import { startRealRegistry } from "./real-registry.js";

interface FetchDoc {
  artifacts: unknown[];
  images: { image: string; platform: string; kinds: string[]; digest: string; cacheHit: boolean; blobs: string[] }[];
}

const run = (args: string[]) => execa("node", [CLI, ...args], { reject: false, env: { CI: "1" } });

describe("a real registry (docker-registry + skopeo)", () => {
  it("pin image, fetch cold, fetch warm with the registry stopped, mirror export + serve + fetch through it", { timeout: 90_000 }, async () => {
    const dir = await tempDir("pp-oci-real-");
    const registry = await startRealRegistry(path.join(dir, "registry"));
    onTestFinished(() => registry.stop());
    const image = await buildFixtureImage();
    await registry.push(image, "pause", "3.10.2");

    // manifests with no artifacts but the image, pointed at this registry
    const manifestsDir = path.join(dir, "manifests");
    await cp(path.join(REPO, "manifests"), manifestsDir, { recursive: true });
    const ref = `${registry.registry}/pause:3.10.2`;
    for (const name of await readdir(manifestsDir)) {
      const file = path.join(manifestsDir, name);
      const lock = JSON.parse(await readFile(file, "utf8")) as { vmconfig: { dependencies: Record<string, unknown>; images: { image: string }[] } };
      lock.vmconfig.dependencies = { vmconfig: { version: "dev", url: "", type: "tar.gz", digest: "", size: 0 } };
      for (const entry of lock.vmconfig.images) entry.image = ref.replace("3.10.2", "3.10.1");
      await writeFile(file, `${JSON.stringify(lock, null, 2)}\n`);
    }
    const cache = path.join(dir, "cache");
    const pin = await run(["pin", "image", ref, "--manifests", manifestsDir, "--cache", cache, "--json"]);
    expect(pin.exitCode, pin.stderr).toBe(0);
    const pinned = JSON.parse(pin.stdout) as { resolved: { index: string; platforms: { arch: string; digest: string; size: number }[] } };
    expect(pinned.resolved.index).toBe(image.indexDigest); // skopeo preserved the index built here
    expect(pinned.resolved.platforms).toEqual(image.platforms.map((p) => ({ arch: p.arch, platform: `linux/${p.arch}`, digest: p.digest, size: p.size })));

    const cold = await run(["fetch", "--manifests", manifestsDir, "--cache", cache, "--json"]);
    expect(cold.exitCode, cold.stderr).toBe(0);
    const coldDoc = JSON.parse(cold.stdout) as FetchDoc;
    expect(coldDoc.images.map((i) => [i.image, i.platform, i.kinds, i.cacheHit])).toEqual([
      [ref, "linux/amd64", ["knd", "knc"], false],
      [ref, "linux/arm64", ["knd", "knc"], false],
    ]);

    await registry.stop();
    const warm = await run(["fetch", "--manifests", manifestsDir, "--cache", cache]);
    expect(warm.exitCode, warm.stderr).toBe(0);
    expect(warm.stdout).toContain("and 2 images (0 downloaded; 2 verified in cache)");

    const mirrorDir = path.join(dir, "mirror");
    const exported = await run(["mirror", "export", mirrorDir, "--manifests", manifestsDir, "--cache", cache, "--json"]);
    expect(exported.exitCode, exported.stderr).toBe(0);
    const serve = execa("node", [CLI, "mirror", "serve", mirrorDir, "--port", "0", "--json"], { reject: false, env: { CI: "1" } });
    onTestFinished(async () => {
      serve.kill("SIGTERM");
      await serve;
    });
    const url = await new Promise<string>((resolve, reject) => {
      serve.stdout?.once("data", (chunk: Buffer) => resolve((JSON.parse(chunk.toString()) as { url: string }).url));
      serve.once("exit", () => reject(new Error("mirror serve exited")));
    });
    const viaMirror = await run(["fetch", "--manifests", manifestsDir, "--cache", path.join(dir, "cache2"), "--mirror", url, "--json"]);
    expect(viaMirror.exitCode, viaMirror.stderr).toBe(0);
    expect((JSON.parse(viaMirror.stdout) as FetchDoc).images.map((i) => i.cacheHit)).toEqual([false, false]);
  });
});
