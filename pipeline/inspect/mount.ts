// Opens a qcow2 read-only without booting it: qemu-img convert to a sparse raw file, a
// read-only loop device, partx -a (no udev here, so losetup -P makes no nodes), mount -o ro.
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { WorkError } from "../errors/index.js";

export interface MountedImage {
  root: string;
  partition: string;
  close: () => Promise<void>;
}

async function partitions(loop: string): Promise<string[]> {
  const base = path.basename(loop);
  const names = (await readdir("/dev")).filter((n) => n.startsWith(`${base}p`) && /p\d+$/.test(n));
  return names.sort((a, b) => Number(a.slice(base.length + 1)) - Number(b.slice(base.length + 1))).map((n) => `/dev/${n}`);
}

async function fsType(device: string): Promise<string> {
  const result = await execa("blkid", ["-o", "value", "-s", "TYPE", device], { reject: false });
  return result.stdout.trim();
}

export async function mountImage(image: string, options: { tmpDir?: string } = {}): Promise<MountedImage> {
  if (process.getuid?.() !== 0) throw new WorkError("EPERM", `inspecting ${image} needs root (loop device and mount)`, { image });
  const work = await mkdtemp(path.join(options.tmpDir ?? os.tmpdir(), "podplane-inspect-"));
  const raw = path.join(work, "disk.raw");
  const mnt = path.join(work, "root");
  let loop = "";
  let mounted = false;
  const close = async () => {
    if (mounted) await execa("umount", [mnt], { reject: false });
    if (loop) {
      await execa("partx", ["-d", loop], { reject: false });
      await execa("losetup", ["-d", loop], { reject: false });
    }
    await rm(work, { recursive: true, force: true });
  };
  try {
    const convert = await execa("qemu-img", ["convert", "-O", "raw", image, raw], { reject: false, all: true });
    if (convert.failed) throw new WorkError("EINSPECT", `qemu-img cannot read ${image}: ${convert.all.trim().split("\n").at(-1) ?? ""}`, { image });
    loop = (await execa("losetup", ["--read-only", "--find", "--show", raw])).stdout.trim();
    await execa("partx", ["-a", loop], { reject: false });
    const parts = await partitions(loop);
    let root: string | undefined;
    for (const part of parts.length > 0 ? parts : [loop]) {
      if (/^ext[234]$|^xfs$|^btrfs$/.test(await fsType(part))) {
        root = part;
        break;
      }
    }
    if (!root) throw new WorkError("EINSPECT", `${image}: no Linux root file system found on ${parts.join(", ") || loop}`, { image });
    await execa("mkdir", ["-p", mnt]);
    const type = await fsType(root);
    await execa("mount", ["-o", type === "ext4" || type === "ext3" ? "ro,noload" : "ro", root, mnt]);
    mounted = true;
    return { root: mnt, partition: root, close };
  } catch (error) {
    await close();
    throw error;
  }
}
