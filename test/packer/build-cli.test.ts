// The build command end to end with the fake packer (target aws: no base image, no VM):
// fetch from the stand-in mirror, stage, Packer, publish; and what a failure leaves behind.
import { mkdir, readFile, readdir, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import type { ImageTestReport, TestImageOptions } from "../../pipeline/boot/index.js";
import { PROJECT_ROOT } from "../../pipeline/cli/options.js";
import { runBuild as runBuildCommand, type BuildFlags } from "../../pipeline/commands/build.js";
import { WorkError } from "../../pipeline/errors/index.js";
import { imageRecord, resolveBase, resolveIdentity, untested, type BakeSettings } from "../../pipeline/image/bake.js";
import { loadManifests } from "../../pipeline/manifest/index.js";
import { publishImage, type ImageRecord } from "../../pipeline/publish/index.js";
import { generateStandinMirror } from "../fixtures/standins/index.js";
import { FAKE_PACKER_DIR, tempDir } from "./fake-packer.js";

async function runBuild(mode: string, ...extra: string[]) {
  const dir = await tempDir("build-cli-");
  const fixture = await generateStandinMirror({ dir: path.join(dir, "fixture"), kinds: ["knd"], arches: ["amd64"] });
  const out = path.join(dir, "out");
  const result = await execa(
    "node",
    [path.join(PROJECT_ROOT, "bin", "podplane-images.js"), "build", "--kind", "knd", "--arch", "amd64", "--target", "aws", "--region", "eu-west-1", "--ami-regions", "us-east-1", "--manifests", fixture.manifestsDir, "--mirror", fixture.mirrorDir, "--cache", path.join(dir, "cache"), "--out", out, "--json", ...extra],
    { reject: false, env: { CI: "1", PODPLANE_PACKER: path.join(FAKE_PACKER_DIR, "packer"), FAKE_PACKER_MODE: mode, FAKE_PACKER_AMI: "eu-west-1:ami-0aaa,us-east-1:ami-0bbb" } },
  );
  return { out, result };
}

describe("build --target aws with the fake packer", () => {
  it("records aws images as not boot-tested here; the tfvars point at them only with --allow-untested", async () => {
    const { out, result } = await runBuild("ok");
    expect(result.exitCode, result.stderr).toBe(0);
    const doc = (JSON.parse(result.stdout) as { results: Array<{ test: string; image: { test: unknown } }> }).results[0];
    expect(doc?.test).toBe("not boot-tested (aws images are not boot-tested here)");
    expect(doc?.image.test).toEqual({ tested: false, reason: "aws images are not boot-tested here" });
    expect(JSON.parse(await readFile(path.join(out, "images.auto.tfvars.json"), "utf8"))).toEqual({ podplane_images: {} });
  });

  it("publishes the AMI of every region to images.json and the tfvars file (--allow-untested)", async () => {
    const { out, result } = await runBuild("ok", "--allow-untested");
    expect(result.exitCode, result.stderr).toBe(0);
    const doc = (JSON.parse(result.stdout) as { results: Array<{ skipped: boolean; image: { name: string; amis: Record<string, string> } }> }).results[0];
    expect(doc).toMatchObject({ skipped: false, result: "built", image: { amis: { "eu-west-1": "ami-0aaa", "us-east-1": "ami-0bbb" } } });
    const images = JSON.parse(await readFile(path.join(out, "images.json"), "utf8")) as { images: { name: string; target: string }[] };
    expect(images.images).toEqual([expect.objectContaining({ name: doc?.image.name, target: "aws" })]);
    expect(JSON.parse(await readFile(path.join(out, "images.auto.tfvars.json"), "utf8"))).toEqual({ podplane_images: { knd: { amd64: { "eu-west-1": "ami-0aaa", "us-east-1": "ami-0bbb" } } } });
    await expect(stat(path.join(out, ".work"))).rejects.toThrow(/ENOENT/);
  });

  it("a Packer failure exits 1 with Packer's last lines and the log path, and records nothing", async () => {
    const { out, result } = await runBuild("fail");
    expect(result.exitCode).toBe(1);
    const failure = JSON.parse(result.stdout) as { ok: boolean; results: Array<{ result: string; error: { code: string; lines: string[] } }> };
    expect(failure).toMatchObject({ ok: false, results: [{ result: "failed", error: { code: "EPACKER" } }] });
    expect(result.stderr).toMatch(/EPACKER: packer exited with 1; last lines:\n(.*\n)* {2}Build 'podplane.qemu.podplane' errored/);
    const logLine = /log: (\S+)/.exec(result.stderr)?.[1] ?? "";
    expect(logLine).toMatch(new RegExp(`^${out}/logs/podplane-knd-debian-13-amd64-[0-9a-f]{12}\\.log$`));
    expect(await readFile(logLine, "utf8")).toContain("-only=podplane.amazon-ebs.podplane");
    expect((await readdir(out)).sort()).toEqual(["logs"]);
  });
});

describe("build: test status is part of the record", () => {
  async function bakedWithSkipTest() {
    const dir = await tempDir("build-test-status-");
    const [manifest] = await loadManifests(path.join(PROJECT_ROOT, "manifests"), { kinds: ["knd"], arches: ["amd64"] });
    if (!manifest) throw new Error("no knd amd64 manifest");
    const out = path.join(dir, "out");
    const settings: BakeSettings = { manifest, target: "qemu", base: "cloud", outDir: out, cacheDir: path.join(dir, "cache") };
    const identity = await resolveIdentity(settings, await resolveBase(settings));
    const qcow2 = path.join(out, "images", `${identity.name}.qcow2`);
    await mkdir(path.dirname(qcow2), { recursive: true });
    await writeFile(qcow2, "image");
    await publishImage(out, imageRecord(settings, identity, { packerVersion: "1.6.6", qemu: { path: qcow2, digest: "sha256:x", size: 5 }, seconds: 1 }, 1, untested("qemu", true)));
    const flags: BuildFlags = { kind: ["knd"], arch: ["amd64"], target: ["qemu"], base: "cloud", manifests: path.join(PROJECT_ROOT, "manifests"), cache: settings.cacheDir, out, jobs: 1, json: true, region: "us-east-1" };
    return { out, qcow2, identity, flags };
  }

  function fakeBootTest(ok: boolean) {
    const calls: TestImageOptions[] = [];
    const testImage = (options: TestImageOptions): Promise<ImageTestReport> => {
      calls.push(options);
      return Promise.resolve({
        image: options.image,
        kind: options.kind,
        ok,
        checks: [
          { name: "cloud-init", ok: true, evidence: "done" },
          { name: "services-active", ok, evidence: ok ? "all active" : "kubelet failed" },
        ],
        logPath: path.join(options.workDir ?? "", "serial.log"),
        seconds: 12.34,
      });
    };
    return { calls, deps: { testImage } };
  }

  const readRecord = async (out: string) => (JSON.parse(await readFile(path.join(out, "images.json"), "utf8")) as { images: ImageRecord[] }).images[0];

  it("a build after --skip-test boots the image instead of reporting a skip, and records when, which checks, the result", async () => {
    const { out, qcow2, identity, flags } = await bakedWithSkipTest();
    expect((await readRecord(out))?.test).toEqual({ tested: false, reason: "--skip-test" });

    const skipAgain = fakeBootTest(true);
    const skipped = await runBuildCommand({ ...flags, skipTest: true }, new AbortController().signal, skipAgain.deps);
    expect(skipAgain.calls).toEqual([]);
    expect(skipped.results).toMatchObject([{ action: "skip", result: "skipped" }]);

    const fake = fakeBootTest(true);
    const before = Date.now();
    const outcome = await runBuildCommand(flags, new AbortController().signal, fake.deps);
    expect(fake.calls).toHaveLength(1);
    expect(fake.calls[0]).toMatchObject({ image: qcow2, kind: "knd", arch: "amd64" });
    expect(outcome).toMatchObject({ ok: true, results: [{ action: "test", result: "tested" }] });
    const record = await readRecord(out);
    expect(record?.name).toBe(identity.name);
    expect(record?.test).toMatchObject({ tested: true, ok: true, seconds: 12.3, checks: [{ name: "cloud-init", ok: true }, { name: "services-active", ok: true }] });
    expect(Date.parse(record?.test?.at ?? "")).toBeGreaterThanOrEqual(before - 1000);

    // Tested now: the next build is a plain skip.
    const again = fakeBootTest(true);
    expect(await runBuildCommand(flags, new AbortController().signal, again.deps)).toMatchObject({ ok: true, results: [{ action: "skip", result: "skipped" }] });
    expect(again.calls).toEqual([]);
  });

  it("a failing boot test of an already built image exits with ETEST and records the failure", async () => {
    const { out, flags } = await bakedWithSkipTest();
    const fake = fakeBootTest(false);
    const outcome = await runBuildCommand(flags, new AbortController().signal, fake.deps);
    expect(outcome).toMatchObject({ ok: false, results: [{ action: "test", result: "failed" }] });
    const error = outcome.results[0]?.error as WorkError;
    expect(error).toBeInstanceOf(WorkError);
    expect(error.code).toBe("ETEST");
    expect(error.message).toContain("services-active: kubelet failed");
    expect((await readRecord(out))?.test).toMatchObject({ tested: true, ok: false, checks: [{ name: "cloud-init", ok: true }, { name: "services-active", ok: false }] });
  });
});
