// arm64 VMs on this host: the emulator and firmware preflight (exit 2 naming the package), the
// accelerator of a foreign guest (TCG, no probe), the QEMU command line of the virt machine,
// the refusal of a record or manifest of another arch, and the preflight over a build plan.
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { AARCH64_FIRMWARE_CODE, assertEmulator, chooseAccelerator, emulatorProblems } from "../../pipeline/boot/emulator.js";
import { qemuArgs } from "../../pipeline/boot/index.js";
import { assertHostReady, hostProblems } from "../../pipeline/boot/preflight.js";
import { UsageError, exitCodeFor } from "../../pipeline/errors/index.js";
import { resetCliStateAfterEach, runCli } from "../helpers/cli.js";

resetCliStateAfterEach();

async function scratch(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A PATH directory holding (empty, executable) stand-ins for the named binaries. */
async function binDir(...names: string[]): Promise<string> {
  const dir = await scratch("arch-bin-");
  for (const name of names) {
    await writeFile(path.join(dir, name), "#!/bin/sh\nexit 0\n");
    await chmod(path.join(dir, name), 0o755);
  }
  return dir;
}

async function firmware(): Promise<{ code: string; vars: string }> {
  const dir = await scratch("arch-fw-");
  await writeFile(path.join(dir, "CODE.fd"), "");
  await writeFile(path.join(dir, "VARS.fd"), "");
  return { code: path.join(dir, "CODE.fd"), vars: path.join(dir, "VARS.fd") };
}

describe("emulator preflight", () => {
  it("arm64 with qemu-system-aarch64 and AAVMF present is ready", async () => {
    expect(await emulatorProblems("arm64", { pathEnv: await binDir("qemu-system-aarch64"), firmware: await firmware() })).toEqual([]);
  });

  it("names qemu-system-arm when qemu-system-aarch64 is missing, qemu-efi-aarch64 when the firmware is", async () => {
    const noQemu = await emulatorProblems("arm64", { pathEnv: await binDir("qemu-system-x86_64"), firmware: await firmware() });
    expect(noQemu).toEqual([expect.stringMatching(/qemu-system-aarch64 is not installed: apt-get install qemu-system-arm/)]);
    const noFirmware = await emulatorProblems("arm64", { pathEnv: await binDir("qemu-system-aarch64"), firmware: { code: "/nonexistent/CODE.fd", vars: "/nonexistent/VARS.fd" } });
    expect(noFirmware).toEqual([expect.stringMatching(/aarch64 UEFI firmware is missing \(\/nonexistent\/CODE.fd, \/nonexistent\/VARS.fd\): apt-get install qemu-efi-aarch64/)]);
  });

  it("amd64 needs qemu-system-x86_64 and no aarch64 firmware", async () => {
    expect(await emulatorProblems("amd64", { pathEnv: await binDir("qemu-system-x86_64"), firmware: { code: "/nonexistent", vars: "/nonexistent" } })).toEqual([]);
    expect((await emulatorProblems("amd64", { pathEnv: await binDir() })).join()).toMatch(/apt-get install qemu-system-x86/);
  });

  it("assertEmulator is a usage error: exit 2", async () => {
    const error = await assertEmulator("arm64", { pathEnv: await binDir() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect(exitCodeFor(error)).toBe(2);
  });
});

describe("the accelerator of a foreign guest", () => {
  it("arm64 on amd64 is TCG without a probe (no image is booted, nothing cached)", async () => {
    const cacheDir = await scratch("arch-accel-");
    const choice = await chooseAccelerator("arm64", { image: "/nonexistent.qcow2", cacheDir, env: {}, kvmDevice: "/dev/null" }, "amd64");
    expect(choice).toEqual({ accelerator: "tcg", reason: expect.stringContaining("arm64 guest on a amd64 host") as string });
  });

  it("PODPLANE_ACCEL=kvm for a foreign guest is a usage error; =tcg is taken as given", async () => {
    const cacheDir = await scratch("arch-accel-");
    await expect(chooseAccelerator("arm64", { image: "/x", cacheDir, env: { PODPLANE_ACCEL: "kvm" } }, "amd64")).rejects.toThrow(/KVM runs the host's own architecture only/);
    expect((await chooseAccelerator("arm64", { image: "/x", cacheDir, env: { PODPLANE_ACCEL: "tcg" } }, "amd64")).reason).toBe("PODPLANE_ACCEL");
  });
});

describe("QEMU command line of an arm64 test VM", () => {
  it("virt machine, UEFI code as firmware, MMIO virtio NIC, -cpu max (cheap pointer auth) under TCG; amd64 has none of these", () => {
    const args = qemuArgs({ arch: "arm64", overlay: "/o.qcow2", seedIso: "/s.iso", accel: "tcg" });
    const at = (flag: string): string | undefined => args[args.indexOf(flag) + 1];
    expect([at("-machine"), at("-bios"), at("-cpu")]).toEqual(["virt", AARCH64_FIRMWARE_CODE, "max,pauth-impdef=on"]);
    expect(args).toContain("virtio-net-device,netdev=n0");
    expect(args.find((a) => a.startsWith("user,"))).toMatch(/restrict=on/);
    const amd = qemuArgs({ arch: "amd64", overlay: "/o.qcow2", seedIso: "/s.iso", accel: "tcg" });
    expect(amd).not.toContain("-bios");
    expect(amd).toContain("virtio-net-pci,netdev=n0");
  });
});

describe("build preflight over the plan", () => {
  const ready = async () => ({ pathEnv: await binDir("qemu-system-x86_64", "qemu-system-aarch64"), firmware: await firmware(), host: "amd64" as const });

  it("skipped and aws entries need nothing; a qemu arm64 bake needs the emulator, a pending base qemu-user too", async () => {
    const missingAll = { pathEnv: await binDir(), firmware: { code: "/nonexistent", vars: "/nonexistent" }, host: "amd64" as const, binfmtDir: "/nonexistent" };
    expect(await hostProblems([{ arch: "arm64", target: "qemu", action: "skip", buildsBase: true }, { arch: "arm64", target: "aws", action: "bake", buildsBase: false }], missingAll)).toEqual([]);
    const bake = await hostProblems([{ arch: "arm64", target: "qemu", action: "bake", buildsBase: false }], missingAll);
    expect(bake.join("\n")).toMatch(/arm64 VM: qemu-system-aarch64 is not installed[\s\S]*arm64 VM: the aarch64 UEFI firmware is missing/);
    expect(bake.join("\n")).not.toMatch(/arm64 base/);
    const withBase = await hostProblems([{ arch: "arm64", target: "qemu", action: "bake", buildsBase: true }], missingAll);
    expect(withBase[0]).toMatch(/^arm64 base: binfmt_misc is not mounted/);
    expect(await hostProblems([{ arch: "arm64", target: "qemu", action: "bake", buildsBase: false }], await ready())).toEqual([]);
  });

  it("assertHostReady lists every problem in one usage error", async () => {
    const error = await assertHostReady([{ arch: "arm64", target: "qemu", action: "test", buildsBase: false }], { pathEnv: await binDir(), firmware: { code: "/n", vars: "/n" } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message.split("\n")).toHaveLength(3);
  });
});

describe("test-image --arch: a record or manifest of another arch is refused (exit 2, nothing boots)", () => {
  it("an images.json record for amd64 booted as arm64", async () => {
    const dir = await scratch("arch-record-");
    const qcow2 = path.join(dir, "images", "podplane-knd-x.qcow2");
    await mkdir(path.dirname(qcow2));
    await writeFile(qcow2, "");
    const record = { name: "podplane-knd-x", kind: "knd", arch: "amd64", os: "debian-13", target: "qemu", qemu: { path: qcow2, digest: "sha256:x" } };
    await writeFile(path.join(dir, "images.json"), JSON.stringify({ version: 1, images: [record] }));
    const result = await runCli("test-image", qcow2, "--kind", "knd", "--arch", "arm64", "--direct-kernel-boot");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("the record of podplane-knd-x is for amd64, but arm64 was asked for (--arch)");
    const bad = await runCli("test-image", qcow2, "--kind", "knd", "--arch", "riscv64");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--arch.*riscv64/);
  });
});
