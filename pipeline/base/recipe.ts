// What goes into the debootstrap base image, and the input hash that names it.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { PROJECT_ROOT } from "../cli/options.js";
import type { Arch } from "../manifest/schema.js";

/** Bump when the recipe changes in a way the scripts' text does not show. */
export const BASE_RECIPE_VERSION = 1;
export const BASE_SUITE = "trixie";
export const BASE_OS = "debian-13";
export const BASE_DISK_MIB = 3072;

/** The smallest set that boots under QEMU with cloud-init done and no errors (DESIGN.md). */
export function basePackages(arch: Arch): string[] {
  return [
    `linux-image-cloud-${arch}`,
    "systemd-sysv",
    "udev",
    "dbus",
    "systemd-resolved",
    "dhcpcd-base",
    "cloud-init",
    "cloud-guest-utils",
    "openssh-server",
    "sudo",
    "ca-certificates",
    "iproute2",
    "netbase",
    // amd64 boots from SeaBIOS (MBR), arm64 from UEFI (AAVMF on qemu's virt machine).
    arch === "arm64" ? "grub-efi-arm64" : "grub-pc",
    "e2fsprogs",
    "procps",
    "less",
    "locales",
  ];
}

export const BASE_SCRIPTS_DIR = path.join(PROJECT_ROOT, "pipeline", "base");
export const CUSTOMIZE_SCRIPT = path.join(BASE_SCRIPTS_DIR, "customize-rootfs.sh");
export const MAKE_DISK_SCRIPT = path.join(BASE_SCRIPTS_DIR, "make-disk.sh");

export type BaseFirmware = "bios" | "efi";

export function baseFirmware(arch: Arch): BaseFirmware {
  return arch === "arm64" ? "efi" : "bios";
}

export interface BaseRecipe {
  recipeVersion: number;
  suite: string;
  arch: Arch;
  packages: string[];
  diskMiB: number;
  /** How the disk boots: make-disk.sh's layout (bios: MBR + grub-pc, efi: GPT + ESP + grub-efi). */
  firmware: BaseFirmware;
  /** sha256 of each script the recipe runs, so editing one rebuilds the base. */
  scripts: Record<string, string>;
}

export async function baseRecipe(arch: Arch): Promise<BaseRecipe> {
  const scripts: Record<string, string> = {};
  for (const file of [CUSTOMIZE_SCRIPT, MAKE_DISK_SCRIPT]) {
    scripts[path.basename(file)] = createHash("sha256").update(await readFile(file)).digest("hex");
  }
  return { recipeVersion: BASE_RECIPE_VERSION, suite: BASE_SUITE, arch, packages: [...basePackages(arch)].sort(), diskMiB: BASE_DISK_MIB, firmware: baseFirmware(arch), scripts };
}

export function baseInputHash(recipe: BaseRecipe): string {
  return createHash("sha256").update(JSON.stringify(recipe)).digest("hex");
}

export function baseImageName(arch: Arch, hash: string): string {
  return `${BASE_OS}-debootstrap-${arch}-${hash.slice(0, 16)}`;
}
