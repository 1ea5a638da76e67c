// The build VM boots its base by direct kernel boot (-kernel/-initrd/-append): the kernel, the
// initrd and the command line GRUB would load, read from the base's own grub.cfg and root
// (pipeline/inspect's os.boot reading), without GRUB reading ≈ 40 MB through the BIOS disk
// services, which is slow under TCG, and with a command line of ours, which is how the bake runs
// at all (no SSH, no systemd: see BAKE_COMMAND). The image is not changed by it: its disk keeps its GRUB and
// boots through it. Extracted once per base digest into the cache; every reuse re-checks both
// files against the digests read from the base.
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { randomUUID } from "node:crypto";
import path from "node:path";
import { WorkError } from "../errors/index.js";
import { extractBootFiles, readBootRecord, type BootRecord } from "../inspect/index.js";
import { parseDigest } from "../manifest/digest.js";
import type { Arch } from "../manifest/schema.js";
import { STAGE_ISO_LABEL } from "../stage/stage-iso.js";
import { fileDigest } from "./file-digest.js";

export interface BuildVmBoot {
  kernel: string;
  initrd: string;
  cmdline: string;
}

export interface BuildVmBootOptions {
  base: string;
  /** `sha256:<hex>` of the base image: names the cache entry. */
  baseDigest: string;
  cacheDir: string;
  arch: Arch;
  signal?: AbortSignal | undefined;
}

const RECORD = "boot.json";

/** Where the build VM mounts its stage disk; the bake's scripts are in BAKE_DIR on it. */
export const BUILD_VM_STAGE = "/run/podplane-stage";
export const BAKE_DIR = "podplane-bake";

/**
 * The build VM's init (the base's initrd hands over to it instead of systemd: `init=/bin/sh` and,
 * after `--`, its arguments): mount the stage disk found by its label, run the bake from it with
 * everything on the serial console, then power off whatever the outcome: the file systems synced
 * and the root read-only first, then the kernel's own power-off (sysrq `o`), so no service of the
 * image ever starts or stops (an orderly shutdown ran systemd-random-seed's save after the
 * cleanup: a seed every instance would share). Under TCG, systemd's early boot alone took 30-40 s
 * of a bake; packer/scripts/build-vm.sh mounts what the install needs itself. Packer waits for the
 * power-off (communicator "none"). Neither `=` nor a double quote may appear: the kernel splits
 * init's arguments at the one and ends the argument at the other.
 */
const BAKE_COMMAND = [
  "exec >/dev/console 2>&1",
  `mkdir -p ${BUILD_VM_STAGE} && mount -o ro -t iso9660 $(blkid -L ${STAGE_ISO_LABEL}) ${BUILD_VM_STAGE} && /bin/bash ${BUILD_VM_STAGE}/${BAKE_DIR}/build-vm.sh`,
  "sync",
  "mount -o remount,ro /",
  "echo o >/proc/sysrq-trigger",
  // Should the power-off not come, init must not exit (a kernel panic): wait for it.
  "sleep 60",
].join("; ");

/**
 * The base's own command line, plus what only the build VM wants: no fsck of a root file system
 * that Packer has just checked by digest, a reboot on a kernel panic (QEMU runs with -no-reboot,
 * so a panic ends the VM instead of baking again), and the bake as init. The baked image keeps
 * its GRUB and its command line and boots through systemd as always.
 */
export function buildVmCmdline(baseCmdline: string): string {
  return [baseCmdline, "fsck.mode=skip", "panic=1", "init=/bin/sh", "--", "-c", `"${BAKE_COMMAND}"`].join(" ");
}

/** The cached files, if both are there and still match the record's digests. */
async function cached(dir: string): Promise<BuildVmBoot | undefined> {
  let saved: { boot: BootRecord; kernel: string; initrd: string };
  try {
    saved = JSON.parse(await readFile(path.join(dir, RECORD), "utf8")) as typeof saved;
  } catch {
    return undefined;
  }
  const kernel = path.join(dir, saved.kernel);
  const initrd = path.join(dir, saved.initrd);
  const [k, i] = await Promise.all([fileDigest(kernel).catch(() => ""), fileDigest(initrd).catch(() => "")]);
  if (k !== saved.boot.kernel.digest || i !== saved.boot.initrd.digest) return undefined;
  return { kernel, initrd, cmdline: buildVmCmdline(saved.boot.cmdline) };
}

/**
 * Puts a freshly extracted entry in place by renames only: a concurrent bake (build --jobs) may
 * already be booting from the entry it put there, so a good entry is never removed; only a stale
 * one (files that no longer match its record) is moved aside first. When another bake's rename
 * wins, its equally checked copy is the one used.
 */
async function installEntry(scratch: string, dir: string): Promise<void> {
  if (await rename(scratch, dir).then(() => true, () => false)) return;
  if (await cached(dir)) return;
  const stale = `${dir}.${randomUUID()}.stale`;
  await rename(dir, stale).catch(() => undefined);
  await rm(stale, { recursive: true, force: true });
  await rename(scratch, dir).catch(() => undefined);
}

/** Kernel, initrd and command line of the base (extracted on first use, checked on every use). */
export async function buildVmBoot(o: BuildVmBootOptions): Promise<BuildVmBoot> {
  const parsed = parseDigest(o.baseDigest);
  if (!parsed) throw new WorkError("EBASE", `not a base image digest: ${o.baseDigest}`, { digest: o.baseDigest });
  const { algorithm } = parsed;
  const dir = path.join(o.cacheDir, "build-vm-boot", `${o.arch}-${parsed.hex.slice(0, 16)}`);
  const hit = await cached(dir);
  if (hit) return hit;
  // The entry is named by the digest: only a base that has it may fill it.
  const actual = await fileDigest(o.base, algorithm);
  if (actual !== o.baseDigest) throw new WorkError("EBASE", `${o.base} is ${actual}, expected ${o.baseDigest}`, { base: o.base, expected: o.baseDigest, actual });
  const workParent = path.join(o.cacheDir, "tmp");
  // Concurrent bakes of one base (build --jobs) each extract into their own scratch directory.
  const scratch = `${dir}.${randomUUID()}.tmp`;
  await mkdir(scratch, { recursive: true });
  try {
    const boot = await readBootRecord(o.base, { workParent, arch: o.arch, signal: o.signal });
    const files = await extractBootFiles(o.base, boot, scratch, { workParent, signal: o.signal });
    await writeFile(path.join(scratch, RECORD), `${JSON.stringify({ baseDigest: o.baseDigest, boot, kernel: path.basename(files.kernel), initrd: path.basename(files.initrd) }, null, 2)}\n`);
    await installEntry(scratch, dir);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  const made = await cached(dir);
  if (!made) throw new WorkError("EBOOTFILE", `the kernel and initrd extracted from ${o.base} do not match its boot record`, { base: o.base });
  return made;
}
