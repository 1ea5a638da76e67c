// runPackerBake and the build command against the fake packer: what survives a failure, what
// a success publishes, and the no-op that never starts Packer.
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it, vi } from "vitest";
import { PROJECT_ROOT } from "../../pipeline/cli/options.js";
import { bakePaths, imageRecord, resolveBase, resolveIdentity, runPackerBake, type BakeSettings } from "../../pipeline/image/bake.js";
import type { Stage } from "../../pipeline/stage/index.js";
import { writeCachedBase } from "../helpers/fake-build.js";
import { loadManifests } from "../../pipeline/manifest/index.js";
import { publishImage } from "../../pipeline/publish/index.js";
import { FAKE_PACKER_DIR, tempDir } from "./fake-packer.js";

const FAKE = path.join(FAKE_PACKER_DIR, "packer");

/** What stageFor writes, in small: the qemu bake packs it into the stage ISO. */
async function writeStandinStage(dir: string): Promise<Stage> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, "artifacts.tsv"), "");
  await writeFile(path.join(dir, "vmconfig.tar.gz"), "");
  return { dir, artifacts: [], bytes: 0, images: [] };
}

/** qemu bakes start from a cached debootstrap base: a real tiny disk whose kernel the build VM boots. */
async function settings(target: "qemu" | "aws", mode: string): Promise<BakeSettings & { dir: string }> {
  const dir = await tempDir("bake-");
  const [manifest] = await loadManifests(path.join(PROJECT_ROOT, "manifests"), { kinds: ["knd"], arches: ["amd64"] });
  if (!manifest) throw new Error("no knd amd64 manifest");
  vi.stubEnv("FAKE_PACKER_MODE", mode);
  vi.stubEnv("PODPLANE_ACCEL", "tcg");
  const cacheDir = path.join(dir, "cache");
  if (target === "qemu") await writeCachedBase(cacheDir);
  return { dir, manifest, target, base: target === "qemu" ? "debootstrap" : "cloud", outDir: path.join(dir, "out"), cacheDir, packerBin: FAKE, aws: { region: "eu-west-1" } };
}

describe("a bake with the fake packer", () => {
  it("qemu: moves the qcow2 into images/ with its digest; the output directory is gone", async () => {
    const s = await settings("qemu", "ok");
    const identity = await resolveIdentity(s, await resolveBase(s));
    const base = identity.base.path;
    const stage = await writeStandinStage(bakePaths(s.outDir, identity.name).stageDir);
    const progress: string[] = [];
    const result = await runPackerBake(s, identity, stage, base, (p) => progress.push(p.text));
    const paths = bakePaths(s.outDir, identity.name);
    expect(result.qemu?.path).toBe(path.join(paths.imagesDir, `${identity.name}.qcow2`));
    expect(result.qemu?.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(result).toMatchObject({ packerVersion: "1.6.6", accelerator: "tcg" });
    await expect(stat(paths.outputDir)).rejects.toThrow(/ENOENT/);
    expect(progress).toContain("accelerator tcg (PODPLANE_ACCEL)");
    // The var file carried the verified base, its kernel booted directly with the bake on its
    // command line, and the console log; no build user, no SSH key, no seed.
    const vars = JSON.parse(await readFile(path.join(paths.packerDir, "podplane.pkrvars.json"), "utf8")) as Record<string, unknown>;
    expect(vars).toMatchObject({ base_image: base, base_image_checksum: identity.base.digest, accelerator: "tcg", cpu_model: "max", build_user: "", serial_log: paths.serialLogPath, stage_iso: path.join(paths.packerDir, "stage.iso") });
    expect(JSON.stringify(vars.direct_boot_args)).toContain("init=/bin/sh -- -c");
    expect(Object.keys(vars).filter((key) => /ssh|seed/.test(key))).toEqual([]);
    // The stage ISO (≈ the artifacts' size) does not outlive the bake; the console log does.
    await expect(stat(path.join(paths.packerDir, "stage.iso"))).rejects.toThrow(/ENOENT/);
    expect(await readFile(paths.serialLogPath, "utf8")).toMatch(/podplane-bake: \[[\d.]+\] ok/);
    expect(progress.filter((line) => line.startsWith("podplane-"))).toEqual(["podplane-bake: [30.01] started (kernel 0.0-fake)", "podplane-install: installed knd: 12 artifacts", "podplane-bake: [60.50] ok"]);
  });

  it("aws: the AMI IDs of every region come from the manifest post-processor", async () => {
    const s = await settings("aws", "ok");
    vi.stubEnv("FAKE_PACKER_AMI", "eu-west-1:ami-0aaa,us-east-1:ami-0bbb");
    const identity = await resolveIdentity(s, await resolveBase(s));
    const result = await runPackerBake(s, identity, { dir: "", artifacts: [], bytes: 0, images: [] }, undefined, () => undefined);
    expect(result.amis).toEqual({ "eu-west-1": "ami-0aaa", "us-east-1": "ami-0bbb" });
    const record = imageRecord(s, identity, result, 12.34);
    expect(record).toMatchObject({ target: "aws", amis: result.amis, buildSeconds: 12.3, baseImage: { source: "ami:136693071363/debian-13-amd64-*" } });
    const vars = JSON.parse(await readFile(path.join(bakePaths(s.outDir, identity.name).packerDir, "podplane.pkrvars.json"), "utf8")) as { tags: Record<string, string> };
    expect(vars.tags).toMatchObject({ "podplane:kind": "knd", "podplane:arch": "amd64", "podplane:input-hash": identity.inputHash, "podplane:dep:kubelet": "1.36.1" });
  });

  it("a failed build leaves no image, and its error carries the log path", async () => {
    const s = await settings("qemu", "fail");
    const identity = await resolveIdentity(s, await resolveBase(s));
    const stage = await writeStandinStage(bakePaths(s.outDir, identity.name).stageDir);
    const error = await runPackerBake(s, identity, stage, identity.base.path, () => undefined).catch((e: unknown) => e);
    const paths = bakePaths(s.outDir, identity.name);
    expect(error).toMatchObject({ code: "EPACKER", logPath: paths.logPath });
    await expect(stat(paths.outputDir)).rejects.toThrow(/ENOENT/);
    expect(await readdir(paths.imagesDir).catch(() => [])).toEqual([]);
    expect(await readFile(paths.logPath, "utf8")).toContain("errored: Script exited with non-zero exit status: 1");
  });

  it("a build VM that powered off without its bake's ok publishes nothing, though Packer succeeded", async () => {
    const s = await settings("qemu", "guest-fail");
    const identity = await resolveIdentity(s, await resolveBase(s));
    const stage = await writeStandinStage(bakePaths(s.outDir, identity.name).stageDir);
    const error = await runPackerBake(s, identity, stage, identity.base.path, () => undefined).catch((e: unknown) => e);
    const paths = bakePaths(s.outDir, identity.name);
    expect(error).toMatchObject({ code: "EBAKE", logPath: paths.logPath, data: { serialLog: paths.serialLogPath } });
    expect((error as Error).message).toContain('its last word was "failed: exit 32 at line 69 of build-vm.sh: umount "$STAGE""');
    expect((error as Error).message).toContain("reboot: Power down");
    await expect(stat(paths.outputDir)).rejects.toThrow(/ENOENT/);
    expect(await readdir(paths.imagesDir).catch(() => [])).toEqual([]);
  });
});

/** A record that passed its boot test: only such an image makes a later build a no-op. */
const PASSED_TEST = { tested: true, ok: true, at: new Date().toISOString(), checks: [], seconds: 1, logPath: "boot.log" };

describe("build command", () => {
  it("is a no-op when images.json has the image: exit 0, well under 2 s, Packer never started", async () => {
    const s = await settings("qemu", "ok");
    const identity = await resolveIdentity(s, await resolveBase(s));
    const qcow2 = path.join(s.outDir, "images", `${identity.name}.qcow2`);
    await publishImage(s.outDir, imageRecord(s, identity, { packerVersion: "1.6.6", qemu: { path: qcow2, digest: "sha256:x", size: 1 }, seconds: 1 }, 1, PASSED_TEST));
    await mkdir(path.dirname(qcow2), { recursive: true });
    await writeFile(qcow2, "image");
    const calls = path.join(s.dir, "calls");
    const run = () =>
      execa("node", [path.join(PROJECT_ROOT, "bin", "podplane-images.js"), "build", "--kind", "knd", "--arch", "amd64", "--target", "qemu", "--base", "debootstrap", "--out", s.outDir, "--cache", s.cacheDir, "--json"], {
        reject: false,
        env: { CI: "1", PODPLANE_PACKER: FAKE, FAKE_PACKER_CALLS: calls },
      });
    const started = performance.now();
    const result = await run();
    const seconds = (performance.now() - started) / 1000;
    expect(result.exitCode, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: true, results: [{ result: "skipped", skipped: true, image: { name: identity.name, qemu: { path: qcow2 } } }] });
    expect(seconds).toBeLessThan(2);
    await expect(stat(calls)).rejects.toThrow(/ENOENT/);
  });

  it("refuses sharing an encrypted AMI without a KMS key, and --base debootstrap for aws (exit 2)", async () => {
    const cli = path.join(PROJECT_ROOT, "bin", "podplane-images.js");
    const shared = await execa("node", [cli, "build", "--kind", "knd", "--arch", "amd64", "--target", "aws", "--ami-users", "123456789012"], { reject: false });
    expect(shared.exitCode).toBe(2);
    expect(shared.stderr).toMatch(/--kms-key-id/);
    const debootstrap = await execa("node", [cli, "build", "--kind", "knd", "--arch", "amd64", "--target", "aws", "--base", "debootstrap"], { reject: false });
    expect(debootstrap.exitCode).toBe(2);
  });
});
