// Opens a qcow2 read-only without booting it: qemu-img convert to a sparse raw file, a
// read-only loop device, partx -a (no udev here, so losetup -P makes no nodes), mount -o ro.
// Everything lives in one work directory under the cache or --work-dir (never scattered in
// $TMPDIR); close() releases it through safeRemove, which fails loudly when a mount stays.
import { mkdir, mkdtemp, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { AggregateWorkError, WorkError } from "../errors/index.js";
import { safeRemove } from "../fs/safe-remove.js";
import { OWNER_FILE, sweepStaleWork } from "../fs/work-dir.js";

export const INSPECT_WORK_PREFIX = "podplane-inspect-";

export interface MountedImage {
  root: string;
  /** The mounted partition's device node (/dev/loopNpM, or the loop device when there is no partition table). */
  partition: string;
  /** Its number in the partition table (M of /dev/loopNpM); 0 when the disk has no partition table. */
  partitionNumber: number;
  /** The work directory (raw copy, mount point); gone after close(). */
  work: string;
  /** Unmounts, detaches and removes the work directory; throws when a mount cannot be released. */
  close: () => Promise<void>;
}

export interface MountOptions {
  /** The parent of the work directory (the cache's tmp/ or --work-dir). */
  workParent: string;
  signal?: AbortSignal | undefined;
  /** Mount this partition (1-based, as in os.boot) instead of the first Linux root file system. */
  partition?: number | undefined;
}

async function partitions(loop: string): Promise<string[]> {
  const base = path.basename(loop);
  const names = (await readdir("/dev")).filter((n) => n.startsWith(`${base}p`) && /p\d+$/.test(n));
  return names.sort((a, b) => Number(a.slice(base.length + 1)) - Number(b.slice(base.length + 1))).map((n) => `/dev/${n}`);
}

function partitionNumber(device: string): number {
  return Number(/p(\d+)$/.exec(device)?.[1] ?? 0);
}

async function fsType(device: string): Promise<string> {
  const result = await execa("blkid", ["-o", "value", "-s", "TYPE", device], { reject: false });
  return result.stdout.trim();
}

function cancelled(image: string): WorkError {
  return new WorkError("ECANCELED", `inspecting ${image} was cancelled`, { image });
}

export async function mountImage(image: string, options: MountOptions): Promise<MountedImage> {
  if (process.getuid?.() !== 0) throw new WorkError("EPERM", `inspecting ${image} needs root (loop device and mount)`, { image });
  await mkdir(options.workParent, { recursive: true });
  // An earlier inspect killed with SIGKILL left its mount: release it before anything else.
  await sweepStaleWork(options.workParent, INSPECT_WORK_PREFIX);
  const work = await mkdtemp(path.join(options.workParent, INSPECT_WORK_PREFIX));
  await writeFile(path.join(work, OWNER_FILE), `${process.pid}\n`);
  const raw = path.join(work, "disk.raw");
  const mnt = path.join(work, "root");
  const close = () => safeRemove(work);
  const { signal } = options;
  try {
    const convert = await execa("qemu-img", ["convert", "-O", "raw", image, raw], { reject: false, all: true, cancelSignal: signal, stdin: "ignore" });
    if (signal?.aborted) throw cancelled(image);
    if (convert.failed) throw new WorkError("EINSPECT", `qemu-img cannot read ${image}: ${convert.all.trim().split("\n").at(-1) ?? ""}`, { image });
    const loop = (await execa("losetup", ["--read-only", "--find", "--show", raw])).stdout.trim();
    await execa("partx", ["-a", loop], { reject: false });
    const parts = await partitions(loop);
    let root: string | undefined;
    if (options.partition !== undefined) {
      root = parts.find((p) => p === `${loop}p${options.partition}`);
      if (!root) throw new WorkError("EINSPECT", `${image}: no partition ${options.partition} (found ${parts.map(partitionNumber).join(", ") || "no partition table"})`, { image, partition: options.partition });
      if (!(await fsType(root))) throw new WorkError("EINSPECT", `${image}: partition ${options.partition} holds no file system blkid knows`, { image, partition: options.partition });
    } else {
      for (const part of parts.length > 0 ? parts : [loop]) {
        if (/^ext[234]$|^xfs$|^btrfs$/.test(await fsType(part))) {
          root = part;
          break;
        }
      }
    }
    if (!root) throw new WorkError("EINSPECT", `${image}: no Linux root file system found on ${parts.join(", ") || loop}`, { image });
    await mkdir(mnt);
    const type = await fsType(root);
    await execa("mount", ["-o", type === "ext4" || type === "ext3" ? "ro,noload" : "ro", root, mnt]);
    if (signal?.aborted) throw cancelled(image);
    return { root: mnt, partition: root, partitionNumber: root === loop ? 0 : partitionNumber(root), work, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * Mounts `image` read-only, runs `work` on it, releases the mount. A release that fails after
 * `work` failed is reported with that failure, never lost; a failed release alone is an error.
 */
export async function withMounted<T>(image: string, options: MountOptions, work: (mounted: MountedImage) => Promise<T>): Promise<T> {
  const mounted = await mountImage(image, options);
  let result: T;
  try {
    result = await work(mounted);
  } catch (error) {
    const released = await mounted.close().then(
      () => undefined,
      (e: unknown) => e,
    );
    if (released instanceof Error && error instanceof Error) throw new AggregateWorkError(`${error.message}; and releasing the image failed`, [error, released]);
    throw error;
  }
  await mounted.close();
  return result;
}
