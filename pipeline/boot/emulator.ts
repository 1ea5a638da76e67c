// What a VM of an architecture needs on this host (the QEMU system emulator and, for arm64, the
// UEFI firmware of qemu's virt machine), checked before any work: a missing piece is a usage
// error naming the Debian package to install, not a VM that never starts or never boots.
import { constants } from "node:fs";
import { access } from "node:fs/promises";
import path from "node:path";
import { hostArch } from "../base/foreign.js";
import { UsageError } from "../errors/index.js";
import type { Arch } from "../manifest/schema.js";
import { probeAccelerator, type AcceleratorChoice, type ProbeOptions } from "../packer/accelerator.js";

/** Debian's qemu-efi-aarch64 (AAVMF): the 64 MiB pflash pair for `-M virt`. */
export const AARCH64_FIRMWARE_CODE = "/usr/share/AAVMF/AAVMF_CODE.fd";
export const AARCH64_FIRMWARE_VARS = "/usr/share/AAVMF/AAVMF_VARS.fd";

export const QEMU_SYSTEM: Record<Arch, { binary: string; pkg: string }> = {
  amd64: { binary: "qemu-system-x86_64", pkg: "qemu-system-x86" },
  arm64: { binary: "qemu-system-aarch64", pkg: "qemu-system-arm" },
};

export interface EmulatorHost {
  /** PATH to search (tests give their own). */
  pathEnv?: string | undefined;
  /** Firmware files to look for (tests give their own). */
  firmware?: { code: string; vars: string };
}

async function executableOnPath(name: string, pathEnv: string): Promise<boolean> {
  for (const dir of pathEnv.split(path.delimiter).filter(Boolean)) {
    try {
      await access(path.join(dir, name), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

async function readable(file: string): Promise<boolean> {
  return access(file, constants.R_OK).then(
    () => true,
    () => false,
  );
}

/** Problems that stop a VM of `arch` here, each naming what to install; empty when none. */
export async function emulatorProblems(arch: Arch, options: EmulatorHost = {}): Promise<string[]> {
  const problems: string[] = [];
  const { binary, pkg } = QEMU_SYSTEM[arch];
  if (!(await executableOnPath(binary, options.pathEnv ?? process.env.PATH ?? ""))) {
    problems.push(`${binary} is not installed: apt-get install ${pkg} (or scripts/setup-host.sh)`);
  }
  if (arch === "arm64") {
    const firmware = options.firmware ?? { code: AARCH64_FIRMWARE_CODE, vars: AARCH64_FIRMWARE_VARS };
    const missing = [];
    for (const file of [firmware.code, firmware.vars]) if (!(await readable(file))) missing.push(file);
    if (missing.length > 0) problems.push(`the aarch64 UEFI firmware is missing (${missing.join(", ")}): apt-get install qemu-efi-aarch64 (or scripts/setup-host.sh)`);
  }
  return problems;
}

/** Throws a usage error (exit 2) when this host cannot run a VM of `arch`. */
export async function assertEmulator(arch: Arch, options: EmulatorHost = {}): Promise<void> {
  const problems = await emulatorProblems(arch, options);
  if (problems.length > 0) throw new UsageError(`cannot run ${arch} VMs here: ${problems.join("; ")}`, "EEMULATOR");
}

/**
 * The accelerator for a VM of `arch`: KVM cannot run a foreign architecture, so that is TCG
 * without a probe (a probe would boot the image with the host's emulator and cache a verdict
 * for the wrong binary); a native guest is probed as before (PODPLANE_ACCEL still forces).
 */
export async function chooseAccelerator(arch: Arch, probe: Omit<ProbeOptions, "qemuBinary">, host: Arch | undefined = hostArch()): Promise<AcceleratorChoice> {
  const forced = (probe.env ?? process.env).PODPLANE_ACCEL;
  if (host !== arch && forced !== "tcg") {
    if (forced === "kvm") throw new UsageError(`PODPLANE_ACCEL=kvm cannot run ${arch} guests on this ${host ?? "unknown"} host: KVM runs the host's own architecture only`, "EEMULATOR");
    return { accelerator: "tcg", reason: `${arch} guest on a ${host ?? "foreign"} host (KVM runs the host's architecture only)` };
  }
  return probeAccelerator({ ...probe, qemuBinary: QEMU_SYSTEM[arch].binary });
}
