// Direct kernel boot metadata of a baked image, in the shape of a lock manifest's `os.boot`
// (what Podplane's local runner extracts and hands to QEMU as -kernel/-initrd/-append), read from
// the image itself: the default entry of its grub.cfg names the kernel, the initrd and the command
// line; the partition table gives the root partition's number and PARTUUID. And the reverse:
// extracting those files from an image and checking them against a record before a boot.
import { copyFile, lstat, mkdir, readFile, readlink } from "node:fs/promises";
import path from "node:path";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { execa } from "execa";
import { WorkError } from "../errors/index.js";
import { parseDigest, type DigestAlgorithm } from "../manifest/digest.js";
import type { Arch, LockFile } from "../manifest/schema.js";
import { withMounted, type MountOptions, type MountedImage } from "./mount.js";

/** `vmconfig.os.boot` of a lock manifest. */
export type BootRecord = NonNullable<LockFile["vmconfig"]["os"]["boot"]>;
export type BootFile = BootRecord["kernel"];

/** Where GRUB's configuration lives on a Debian root (BIOS and EFI installs alike). */
const GRUB_CFG = "boot/grub/grub.cfg";

export interface GrubEntry {
  title: string;
  kernel: string;
  initrd: string;
  /** The kernel's arguments as grub.cfg writes them (after the kernel path). */
  args: string[];
}

/** Splits a grub.cfg line into words, honouring single and double quotes. */
function words(line: string): string[] {
  const out: string[] = [];
  for (const match of line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)) out.push(match[1] ?? match[2] ?? match[3] ?? "");
  return out;
}

/**
 * The entry GRUB boots by default: `set default=N` (a number) picks the Nth top-level menuentry,
 * anything else (a saved entry, a title) falls back to the first one, as GRUB does when it
 * cannot resolve it. Undefined when no entry has both a linux and an initrd line.
 */
export function defaultGrubEntry(text: string): GrubEntry | undefined {
  const entries: Array<Partial<GrubEntry> & { title: string }> = [];
  let depth = 0;
  let current: (Partial<GrubEntry> & { title: string }) | undefined;
  let defaultIndex = 0;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("#") || !line) continue;
    const w = words(line);
    const set = /^set\s+default=["']?(\d+)["']?$/.exec(line);
    if (set && depth === 0) defaultIndex = Number(set[1]);
    if ((w[0] === "menuentry" || w[0] === "submenu") && depth === 0) {
      current = w[0] === "menuentry" ? { title: w[1] ?? "" } : undefined;
      if (current) entries.push(current);
    } else if (current && depth === 1 && (w[0] === "linux" || w[0] === "linuxefi") && w[1]) {
      current.kernel = w[1];
      current.args = w.slice(2);
    } else if (current && depth === 1 && (w[0] === "initrd" || w[0] === "initrdefi") && w[1]) {
      current.initrd = w[1];
    }
    depth += (line.match(/\{\s*$/g) ?? []).length;
    if (/^\}/.test(line)) depth = Math.max(0, depth - 1);
    if (depth === 0) current = undefined;
  }
  const chosen = entries[defaultIndex] ?? entries[0];
  if (!chosen?.kernel || !chosen.initrd) return undefined;
  return { title: chosen.title, kernel: chosen.kernel, initrd: chosen.initrd, args: chosen.args ?? [] };
}

export interface RootPartition {
  /** PARTUUID of the partition (GPT: its GUID; MBR: <disk id>-<2-digit number>). */
  partUuid: string;
  /** UUID of the file system on it. */
  fsUuid: string;
}

function serialConsole(arch: Arch): string {
  return arch === "arm64" ? "ttyAMA0" : "ttyS0";
}

/**
 * The command line for a direct boot: grub.cfg's arguments with `root=` pointing at the
 * partition by PARTUUID (what Podplane's manifests use: a file system UUID needs the initramfs
 * to scan, and a copied disk keeps its PARTUUID), GRUB-only words dropped, the serial console kept
 * (or added). A root= naming another partition or file system is an error: the kernel and the
 * root would not come from the same place.
 */
export function directBootCmdline(args: readonly string[], root: RootPartition, arch: Arch, where: string): string {
  const out: string[] = [];
  let sawRoot = false;
  for (const arg of args) {
    // Unexpanded GRUB variables ($vt_handoff) and GRUB's own BOOT_IMAGE= mean nothing to a kernel loaded by QEMU.
    if (arg.includes("$") || arg.startsWith("BOOT_IMAGE=")) continue;
    if (arg.startsWith("root=")) {
      const value = arg.slice("root=".length);
      const uuid = /^UUID=(.+)$/i.exec(value)?.[1];
      const partUuid = /^PARTUUID=(.+)$/i.exec(value)?.[1];
      const same = (uuid !== undefined && uuid.toLowerCase() === root.fsUuid.toLowerCase()) || (partUuid !== undefined && partUuid.toLowerCase() === root.partUuid.toLowerCase());
      if (!same) throw new WorkError("EBOOTRECORD", `${where}: grub.cfg boots root=${value}, which is not the partition holding the kernel (PARTUUID ${root.partUuid}, UUID ${root.fsUuid})`, { root: value });
      if (!sawRoot) out.push(`root=PARTUUID=${root.partUuid}`);
      sawRoot = true;
      continue;
    }
    out.push(arg);
  }
  if (!sawRoot) out.unshift(`root=PARTUUID=${root.partUuid}`);
  const tty = serialConsole(arch);
  if (!out.some((a) => a === `console=${tty}` || a.startsWith(`console=${tty},`))) out.push(`console=${tty},115200`);
  return out.join(" ");
}

/**
 * The guest path of `file` inside `root` with symbolic links followed as the guest would (an
 * absolute target is relative to `root`, never the host's /); undefined when it is not there.
 */
async function resolveInRoot(root: string, file: string, hops = 0): Promise<string | undefined> {
  if (hops > 16) return undefined;
  const parts = path.posix.normalize(`/${file}`).split("/").filter(Boolean);
  let current = "/";
  for (const [i, part] of parts.entries()) {
    const next = path.posix.join(current, part);
    const info = await lstat(path.join(root, next)).catch(() => undefined);
    if (!info) return undefined;
    if (info.isSymbolicLink()) {
      const target = await readlink(path.join(root, next));
      const rest = parts.slice(i + 1).join("/");
      const joined = target.startsWith("/") ? target : path.posix.join(current, target);
      return resolveInRoot(root, rest ? `${joined}/${rest}` : joined, hops + 1);
    }
    current = next;
  }
  return current;
}

async function fileDigest(file: string, algorithm: DigestAlgorithm): Promise<string> {
  const hash = createHash(algorithm);
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return `${algorithm}:${hash.digest("hex")}`;
}

/** PARTUUID, partition number and file system UUID of a partition node, probed from the device itself (no udev here). */
async function probePartition(device: string): Promise<{ number: number; partUuid: string; fsUuid: string }> {
  const result = await execa("blkid", ["-p", "-o", "export", device], { reject: false });
  const values = new Map(
    result.stdout
      .split("\n")
      .map((line) => line.split("="))
      .filter((pair): pair is [string, string] => pair.length >= 2)
      .map(([key, ...value]) => [key, value.join("=")]),
  );
  return { number: Number(values.get("PART_ENTRY_NUMBER") ?? 0), partUuid: values.get("PART_ENTRY_UUID") ?? "", fsUuid: values.get("UUID") ?? "" };
}

export interface ReadBootOptions extends Omit<MountOptions, "partition"> {
  /** Picks the serial console device of the command line (default amd64). */
  arch?: Arch;
}

/**
 * The os.boot record of a qcow2: kernel and initrd as its grub.cfg's default entry names them
 * (path on the root partition, sha256 of the file there), the command line with
 * root=PARTUUID=. Needs root (the image is opened as `inspect` does: a raw copy on a read-only loop).
 */
export async function readBootRecord(qcow2Path: string, options: ReadBootOptions): Promise<BootRecord> {
  return withMounted(qcow2Path, options, (mounted) => bootRecordOf(mounted, qcow2Path, options.arch));
}

/** readBootRecord's reading, on an image already mounted (the bake reads its packages from the same mount). */
export async function bootRecordOf(mounted: MountedImage, qcow2Path: string, arch: Arch | undefined): Promise<BootRecord> {
  const where = `${qcow2Path} (partition ${mounted.partitionNumber})`;
  if (mounted.partitionNumber === 0) throw new WorkError("EBOOTRECORD", `${qcow2Path}: the disk has no partition table; os.boot names a partition`, { image: qcow2Path });
  const cfgPath = await resolveInRoot(mounted.root, GRUB_CFG);
  const cfg = cfgPath ? await readFile(path.join(mounted.root, cfgPath), "utf8").catch(() => undefined) : undefined;
  if (cfg === undefined) throw new WorkError("EBOOTRECORD", `${where}: no /${GRUB_CFG}; cannot tell which kernel the image boots`, { image: qcow2Path });
  const entry = defaultGrubEntry(cfg);
  if (!entry) throw new WorkError("EBOOTRECORD", `${where}: /${GRUB_CFG} has no menuentry with a linux and an initrd line`, { image: qcow2Path });
  const probed = await probePartition(mounted.partition);
  if (!probed.partUuid || !probed.fsUuid) throw new WorkError("EBOOTRECORD", `${where}: blkid found no PARTUUID or file system UUID on ${mounted.partition}`, { image: qcow2Path });
  const cmdline = directBootCmdline(entry.args, { partUuid: probed.partUuid, fsUuid: probed.fsUuid }, arch ?? "amd64", where);
  const bootFile = async (file: string, what: string): Promise<BootFile> => {
    // The real file, not a link to it: a reader of the record (Podplane's) need not follow links.
    const found = await resolveInRoot(mounted.root, file);
    const info = found ? await lstat(path.join(mounted.root, found)).catch(() => undefined) : undefined;
    // A separate /boot partition would make grub.cfg's paths relative to it; these images keep /boot on the root.
    if (!found || !info?.isFile()) throw new WorkError("EBOOTRECORD", `${where}: the ${what} ${file} that grub.cfg names is not a file on the root partition`, { image: qcow2Path, file });
    return { partition: mounted.partitionNumber, path: found, digest: await fileDigest(path.join(mounted.root, found), "sha256") };
  };
  return { cmdline, kernel: await bootFile(entry.kernel, "kernel"), initrd: await bootFile(entry.initrd, "initrd") };
}

export interface ExtractedBoot {
  kernel: string;
  initrd: string;
  cmdline: string;
}

/**
 * Copies the record's kernel and initrd out of the image into `destDir` and checks each against
 * the record's digest (sha256 or sha512, as the record writes it). A file that is missing or
 * whose digest differs is an error naming the file and both digests; nothing is returned then.
 * A path under /boot is also looked up without it, for a separate /boot partition (as Podplane does).
 */
export async function extractBootFiles(image: string, boot: BootRecord, destDir: string, options: Omit<MountOptions, "partition">): Promise<ExtractedBoot> {
  await mkdir(destDir, { recursive: true });
  const out = new Map<"kernel" | "initrd", string>();
  const byPartition = new Map<number, Array<["kernel" | "initrd", BootFile]>>();
  for (const what of ["kernel", "initrd"] as const) {
    const file = boot[what];
    byPartition.set(file.partition, [...(byPartition.get(file.partition) ?? []), [what, file]]);
  }
  for (const [partition, files] of byPartition) {
    await withMounted(image, { ...options, partition }, async (mounted) => {
      for (const [what, file] of files) {
        const expected = parseDigest(file.digest);
        if (!expected) throw new WorkError("EBOOTRECORD", `the boot record's ${what} digest is not sha256:<hex> or sha512:<hex>: ${JSON.stringify(file.digest)}`, { file: file.path });
        const stripped = file.path.replace(/^\/boot\//, "/");
        const found = (await resolveInRoot(mounted.root, file.path)) ?? (stripped !== file.path ? await resolveInRoot(mounted.root, stripped) : undefined);
        if (!found) throw new WorkError("EBOOTFILE", `${image}: the ${what} ${file.path} of the boot record is not on partition ${partition}`, { image, file: file.path, partition });
        const target = path.join(destDir, `${what}-${path.posix.basename(file.path)}`);
        await copyFile(path.join(mounted.root, found), target);
        // The digest of the copy: what QEMU will load is what was checked.
        const actual = await fileDigest(target, expected.algorithm);
        if (actual !== file.digest) {
          throw new WorkError("EBOOTDIGEST", `${image}: the ${what} ${file.path} (partition ${partition}) does not match the boot record: the record says ${file.digest}, the image holds ${actual}`, {
            image,
            file: file.path,
            expected: file.digest,
            actual,
          });
        }
        out.set(what, target);
      }
    });
  }
  return { kernel: out.get("kernel") ?? "", initrd: out.get("initrd") ?? "", cmdline: boot.cmdline };
}
