// Fixtures for the tests that really mount (root only): a tiny root tarball whose
// `grub-install` only announces itself and sleeps (so a test can interrupt make-disk.sh while
// /dev, /dev/pts, /proc and /sys are bound into the image root), and the host-state assertions.
import { chmod, copyFile, lstat, mkdir, mkdtemp, readdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { expect, onTestFinished } from "vitest";
import { MAKE_DISK_SCRIPT } from "../../pipeline/base/recipe.js";
import { loopsBackedUnder, mountsUnder, safeRemove } from "../../pipeline/fs/safe-remove.js";

/** A temp dir removed through safeRemove when the test ends: a failed test never leaves a mount to walk through. */
export async function mountTempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  onTestFinished(() => safeRemove(dir));
  return dir;
}

export const IS_ROOT = process.getuid?.() === 0;
export const NEEDS_ROOT = "needs root (loop devices, mount): run as root to exercise interruption cleanup";

/** Copies host binaries and the libraries ldd names into `root`, so a chroot can run them. */
async function copyWithLibraries(root: string, binaries: string[]): Promise<void> {
  const files = new Set<string>();
  for (const binary of binaries) {
    files.add(binary);
    const ldd = await execa("ldd", [binary], { reject: false });
    for (const match of ldd.stdout.matchAll(/(\/\S+)/g)) if (match[1]) files.add(match[1]);
  }
  for (const file of files) {
    const target = path.join(root, file);
    await mkdir(path.dirname(target), { recursive: true });
    await copyFile(file, target);
    await chmod(target, 0o755);
  }
}

/**
 * A root tarball make-disk.sh accepts; its grub-install prints `grub-install started` and
 * sleeps (or, with `grubSleeps: false`, returns at once so make-disk.sh writes a tiny qcow2).
 */
export async function tinyRootTarball(dir: string, { grubSleeps = true } = {}): Promise<string> {
  const root = path.join(dir, "rootfs");
  for (const d of ["dev", "proc", "sys", "etc", "boot", "usr/sbin", "tmp"]) await mkdir(path.join(root, d), { recursive: true });
  const bash = (await execa("bash", ["-c", "command -v bash"])).stdout.trim();
  const sleep = (await execa("bash", ["-c", "command -v sleep"])).stdout.trim();
  await copyWithLibraries(root, [bash, sleep]);
  await writeFile(path.join(root, "boot/vmlinuz-0.0-test"), "kernel");
  await writeFile(path.join(root, "boot/initrd.img-0.0-test"), "initrd");
  await writeFile(path.join(root, "usr/sbin/grub-install"), `#!${bash}\necho "grub-install started" >&2\n${grubSleeps ? `exec ${sleep} 300` : "exit 0"}\n`, { mode: 0o755 });
  const tarball = path.join(dir, "rootfs.tar");
  await execa("tar", ["--numeric-owner", "-cf", tarball, "-C", root, "."]);
  return tarball;
}

/** A tiny qcow2 with an MBR and one ext4 partition holding the tiny root (built by make-disk.sh). */
export async function tinyImage(dir: string): Promise<string> {
  const tarball = await tinyRootTarball(dir, { grubSleeps: false });
  const image = path.join(dir, "tiny.qcow2");
  await execa("bash", [MAKE_DISK_SCRIPT, tarball, image, "16"]);
  return image;
}

export interface HostState {
  devEntries: number;
}

export async function hostState(): Promise<HostState> {
  return { devEntries: (await readdir("/dev")).length };
}

/** The host's /dev is whole, and nothing of `dir` is mounted or attached. */
export async function expectClean(dir: string, before: HostState, { removed = true } = {}): Promise<void> {
  expect((await lstat("/dev/null")).isCharacterDevice()).toBe(true);
  expect((await readdir("/dev")).length).toBeGreaterThanOrEqual(before.devEntries - 2);
  expect(await mountsUnder(dir)).toEqual([]);
  expect(await loopsBackedUnder(dir)).toEqual([]);
  if (removed) await expect(lstat(dir)).rejects.toThrow(/ENOENT/);
}
