// The build VM boots its base by direct kernel boot (-kernel/-initrd/-append): the kernel, the
// initrd and the command line GRUB would load, read from the base's own grub.cfg and root
// (pipeline/inspect's os.boot reading), without GRUB reading ≈ 40 MB through the BIOS disk
// services, which is slow under TCG, and with a command line of ours, which is how the bake runs
// at all (no SSH: see BAKE_COMMAND). The image is not changed by it: its disk keeps its GRUB and
// boots through it. Extracted once per base digest into the cache; every reuse re-checks both
// files against the digests read from the base.
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { randomUUID } from "node:crypto";
import path from "node:path";
import { WorkError } from "../errors/index.js";
import { extractBootFiles, readBootRecord, type BootRecord } from "../inspect/index.js";
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
 * What the build VM's boot runs instead of reaching multi-user.target (systemd-run-generator:
 * the unit becomes the boot's target, so no cloud-init, sshd or getty starts): mount the stage
 * disk found by its label and run the bake from it, everything on the serial console. systemd
 * powers the VM off when it ends, either way; Packer waits for that (communicator "none"). The
 * power-off is forced (no unit stopped one by one; processes killed, file systems unmounted or
 * read-only, as `systemctl poweroff --force`): an orderly stop would run units' stop actions after
 * the cleanup, e.g. systemd-random-seed writing a seed every instance would share.
 * Neither `%` nor `$` may appear: the command becomes a unit's ExecStart, where both expand.
 */
const BAKE_COMMAND = [
  "exec >/dev/console 2>&1",
  "udevadm settle",
  `mkdir -p ${BUILD_VM_STAGE}`,
  `mount -o ro -t iso9660 /dev/disk/by-label/${STAGE_ISO_LABEL} ${BUILD_VM_STAGE}`,
  `exec /bin/bash ${BUILD_VM_STAGE}/${BAKE_DIR}/build-vm.sh`,
].join(" && ");

/**
 * The base's own command line, plus what only the build VM wants: no fsck of a root file system
 * that Packer has just checked by digest (systemd-fsck-root cost tens of seconds under TCG), no
 * cloud-init, and the bake as the boot's only job. The baked image keeps its GRUB and its
 * command line and checks its file systems on its own boots.
 */
export function buildVmCmdline(baseCmdline: string): string {
  return [
    baseCmdline,
    "fsck.mode=skip",
    "cloud-init=disabled",
    // Nothing the bake needs: name resolution (the bake has no network) and timers (apt's,
    // e2scrub's, fstrim's must not fire inside a build VM).
    "systemd.mask=systemd-resolved.service",
    "systemd.mask=timers.target",
    `systemd.run="/bin/sh -c '${BAKE_COMMAND}'"`,
    "systemd.run_success_action=poweroff-force",
    "systemd.run_failure_action=poweroff-force",
  ].join(" ");
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

/** Kernel, initrd and command line of the base (extracted on first use, checked on every use). */
export async function buildVmBoot(o: BuildVmBootOptions): Promise<BuildVmBoot> {
  const match = /^(sha256|sha512):([0-9a-f]{16})[0-9a-f]+$/.exec(o.baseDigest);
  const algorithm = match?.[1] as "sha256" | "sha512" | undefined;
  const hex = match?.[2];
  if (!algorithm || !hex) throw new WorkError("EBASE", `not a base image digest: ${o.baseDigest}`, { digest: o.baseDigest });
  const dir = path.join(o.cacheDir, "build-vm-boot", `${o.arch}-${hex}`);
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
    await rm(dir, { recursive: true, force: true });
    // Another bake may have put its (equally checked) copy there first: then that one is used.
    await rename(scratch, dir).catch(() => undefined);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  const made = await cached(dir);
  if (!made) throw new WorkError("EBOOTFILE", `the kernel and initrd extracted from ${o.base} do not match its boot record`, { base: o.base });
  return made;
}
