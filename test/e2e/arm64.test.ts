// arm64 end to end on this amd64 host, all of it emulated: the arm64 debootstrap base (mmdebstrap
// through qemu-user), the bake (qemu-system-aarch64, TCG, the base's kernel booted directly with
// the bake as its init) and build's own boot test of the result (UEFI and GRUB on the virt
// machine), then the same image again by direct kernel boot from its images.json record. knd
// only, from the stand-in mirror (containerd, runc and the CNI plugins are Debian's real arm64
// programs; the other binaries are the strict Python stand-ins, which run on either arch).
//
// Opt-in (PODPLANE_E2E_ARM64=1): on this 2-core machine the arm64 base alone took ≈ 45–75 min
// under qemu-user, so it cannot ride in CI's 60 minutes with the amd64 suite; with the base in
// the cache (PODPLANE_IMAGES_CACHE) the bake and both boots take what docs/arm64.md records.
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findBootRecord, prepareDirectBoot } from "../../pipeline/boot/direct-boot.js";
import { CHECK_NAMES, testImage } from "../../pipeline/boot/index.js";
import { PROJECT_ROOT } from "../../pipeline/cli/options.js";
import { safeRemove } from "../../pipeline/fs/safe-remove.js";
import type { ImageRecord } from "../../pipeline/publish/index.js";
import { generateStandinMirror } from "../fixtures/standins/index.js";
import { serveMirrorWithCli, type MirrorServer } from "./mirror-server.js";

const E2E_DIR = path.resolve(process.env.PODPLANE_E2E_ARM64_DIR ?? path.join(PROJECT_ROOT, ".e2e-arm64"));
const CACHE_DIR = process.env.PODPLANE_IMAGES_CACHE ?? path.join(E2E_DIR, "cache");
const CLI = path.join(PROJECT_ROOT, "bin", "podplane-images.js");
const HOURS = 60 * 60_000;

let server: MirrorServer | undefined;
let mirrorUrl = "";
let manifestsDir = "";
let record: ImageRecord | undefined;

beforeAll(async () => {
  if (process.env.PODPLANE_E2E_ARM64 !== "1") return;
  await mkdir(E2E_DIR, { recursive: true });
  for (const output of ["images.json", "images.auto.tfvars.json", "images", "logs", "boot", ".work"]) await safeRemove(path.join(E2E_DIR, output));
  const fixture = await generateStandinMirror({ dir: path.join(E2E_DIR, "fixture"), kinds: ["knd"], arches: ["arm64"] });
  manifestsDir = fixture.manifestsDir;
  server = await serveMirrorWithCli(CLI, fixture.mirrorDir);
  mirrorUrl = server.url;
}, HOURS);

afterAll(async () => {
  await server?.stop();
});

describe.skipIf(process.env.PODPLANE_E2E_ARM64 !== "1").sequential("arm64 knd: base, bake and boot test under emulation (PODPLANE_E2E_ARM64=1)", () => {
  it("builds knd for arm64 and passes build's own boot test (UEFI + GRUB on virt)", async () => {
    const args = ["build", "--kind", "knd", "--arch", "arm64", "--target", "qemu", "--base", "debootstrap", "--manifests", manifestsDir, "--mirror", mirrorUrl, "--cache", CACHE_DIR, "--out", E2E_DIR, "--json"];
    const result = await execa("node", [CLI, ...args], { reject: false, timeout: 3 * HOURS, env: { CI: "1" }, stdin: "ignore" });
    expect(result.exitCode, String(result.stderr).split("\n").slice(-30).join("\n")).toBe(0);
    const doc = JSON.parse(String(result.stdout)) as { results: Array<{ kind: string; arch: string; result: string; image: ImageRecord | null }> };
    expect(doc.results.map((r) => [r.kind, r.arch, r.result])).toEqual([["knd", "arm64", "built"]]);
    record = doc.results[0]?.image ?? undefined;
    expect(record?.name).toMatch(/^podplane-knd-debian-13-arm64-[0-9a-f]{12}$/);
    expect(record?.test).toMatchObject({ tested: true, ok: true });
    // The record's boot block is the arm64 one: the PL011 console, the root by PARTUUID.
    expect(record?.boot?.cmdline).toMatch(/^root=PARTUUID=\S+ .*console=ttyAMA0/);
  }, 3 * HOURS);

  it("boots the same image by direct kernel boot from its record and passes every named check", async () => {
    const image = record?.qemu?.path;
    expect(image, "the build above recorded a qcow2").toBeTruthy();
    const found = await findBootRecord(image ?? "", path.join(E2E_DIR, "images.json"), "arm64");
    const workDir = path.join(E2E_DIR, "boot", "knd-direct");
    const directBoot = await prepareDirectBoot(image ?? "", found.boot, path.join(workDir, "boot"), { workParent: path.join(CACHE_DIR, "tmp") });
    const report = await testImage({ image: image ?? "", kind: "knd", arch: "arm64", provider: "local", workDir, directBoot, onProgress: (line) => process.stderr.write(`arm64 direct boot knd: ${line}\n`) });
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.checks.map((c) => c.name).sort()).toEqual(Object.values(CHECK_NAMES).sort());
    const serial = await readFile(report.logPath, "utf8");
    // QEMU loaded the kernel itself: neither UEFI's GRUB nor its menu ran.
    expect(serial).not.toMatch(/GNU GRUB|Booting `Debian/);
    expect(serial).toMatch(/Linux version \S+.*aarch64|Machine model: linux,dummy-virt/);
  }, HOURS);
});
