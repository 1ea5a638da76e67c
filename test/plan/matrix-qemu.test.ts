// A qemu matrix in-process with the fake packer and a stand-in boot test: two bakes at once
// (--jobs 2) from a cached debootstrap base; knc fails its boot test (kept, not published),
// knd is published boot-tested; no work directory survives.
import { readFile, readdir, stat } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it, vi } from "vitest";
import type { ImageTestReport, TestImageOptions } from "../../pipeline/boot/index.js";
import { runBuild, type BuildFlags } from "../../pipeline/commands/build.js";
import { WorkError } from "../../pipeline/errors/index.js";
import type { ImagesFile } from "../../pipeline/publish/index.js";
import { FAKE_PACKER_DIR } from "../packer/fake-packer.js";
import { fakeBuildDirs } from "../helpers/fake-build.js";

describe("build over a qemu matrix (in-process, fake packer, stand-in boot test)", () => {
  it("one kind failing its boot test does not stop the other; the summary has both", async () => {
    // The fixture mirror, and a debootstrap base already in the cache as buildDebootstrapBase leaves it.
    const { fixture, cache, out } = await fakeBuildDirs("matrix-qemu-", ["knd", "knc"]);
    vi.stubEnv("CI", "1");
    vi.stubEnv("PODPLANE_ACCEL", "tcg");
    vi.stubEnv("PODPLANE_PACKER", path.join(FAKE_PACKER_DIR, "packer"));

    const booted: string[] = [];
    const cacheDirs = new Set<string | undefined>();
    const testImage = (options: TestImageOptions): Promise<ImageTestReport> => {
      booted.push(options.kind);
      cacheDirs.add(options.cacheDir);
      const ok = options.kind === "knd";
      return Promise.resolve({ image: options.image, kind: options.kind, ok, checks: [{ name: "services-active", ok, evidence: ok ? "all active" : "kubelet failed" }], logPath: path.join(options.workDir ?? "", "serial.log"), seconds: 1 });
    };
    const flags: BuildFlags = { kind: ["knd", "knc"], arch: ["amd64"], target: ["qemu"], base: "debootstrap", manifests: fixture.manifestsDir, mirror: fixture.mirrorDir, cache, out, jobs: 2, json: true, region: "us-east-1" };
    const summary = await runBuild(flags, new AbortController().signal, { testImage });

    expect(booted.sort()).toEqual(["knc", "knd"]);
    // The boot test keeps its accelerator verdict and boot-speed record in build's --cache.
    expect([...cacheDirs]).toEqual([cache]);
    expect(summary.ok).toBe(false);
    expect(summary.results.map((r) => [r.kind, r.action, r.result])).toEqual([
      ["knd", "bake", "built"],
      ["knc", "bake", "failed"],
    ]);
    const [knd, knc] = summary.results;
    expect(knd?.record?.test).toMatchObject({ tested: true, ok: true });
    expect(knd?.steps).toMatchObject({ fetch: expect.any(Number) as number, stage: expect.any(Number) as number, packer: expect.any(Number) as number, test: expect.any(Number) as number });
    expect(knc?.error).toBeInstanceOf(WorkError);
    expect((knc?.error as WorkError).message).toMatch(/services-active: kubelet failed\n\(the image is kept, not published\)/);
    // knc's qcow2 is kept for a look, but images.json only has knd.
    await stat(path.join(out, "images", `${knc?.name ?? ""}.qcow2`));
    const doc = JSON.parse(await readFile(path.join(out, "images.json"), "utf8")) as ImagesFile;
    expect(doc.images.map((i) => i.name)).toEqual([knd?.name]);
    expect((await readdir(out)).sort()).toEqual(["images", "images.auto.tfvars.json", "images.json", "logs"]);
  }, 120_000);
});
