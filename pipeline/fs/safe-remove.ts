// Removing a work tree that once held mounts (a bind-mounted /dev, a loop-mounted image) must
// never walk through one: `rm -r` of a tree with /dev bound beneath it deletes the host's device
// nodes. Every cleanup of such a tree goes through safeRemove: it unmounts what lies beneath
// (deepest first, read from /proc/self/mountinfo), detaches loop devices backed by files in the
// tree, and removes the tree only when no mount is left; otherwise it stops and names them.
import { readFile, readdir, realpath, rm } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { WorkError } from "../errors/index.js";

export const MOUNTINFO = "/proc/self/mountinfo";

/** mountinfo escapes space, tab, newline and backslash as \ooo octal. */
export function decodeMountPath(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_m, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** The mount points in a mountinfo text (field 5 of each line), in file order. */
export function parseMountPoints(text: string): string[] {
  const points: string[] = [];
  for (const line of text.split("\n")) {
    const field = line.split(" ")[4];
    if (field) points.push(decodeMountPath(field));
  }
  return points;
}

function isAtOrBeneath(candidate: string, dir: string): boolean {
  return candidate === dir || candidate.startsWith(dir.endsWith("/") ? dir : `${dir}/`);
}

async function resolved(dir: string): Promise<string | undefined> {
  try {
    return await realpath(dir);
  } catch {
    return undefined;
  }
}

/** Mount points at or beneath `dir`, deepest first (a child before its parent). */
export async function mountsUnder(dir: string, mountinfo = MOUNTINFO): Promise<string[]> {
  const real = (await resolved(dir)) ?? path.resolve(dir);
  const points = parseMountPoints(await readFile(mountinfo, "utf8")).filter((p) => isAtOrBeneath(p, real));
  // Longer paths first: a mount beneath another always has the longer path. Stacked mounts on
  // one point stay listed once per mount, so each gets its own umount.
  return points.sort((a, b) => b.length - a.length);
}

export interface LoopDevice {
  device: string;
  backingFile: string;
}

/** Loop devices whose backing file lies beneath `dir` (read from /sys: no losetup needed). */
export async function loopsBackedUnder(dir: string, sysBlock = "/sys/block"): Promise<LoopDevice[]> {
  const real = (await resolved(dir)) ?? path.resolve(dir);
  const found: LoopDevice[] = [];
  for (const name of await readdir(sysBlock).catch(() => [] as string[])) {
    if (!/^loop\d+$/.test(name)) continue;
    const text = await readFile(path.join(sysBlock, name, "loop", "backing_file"), "utf8").catch(() => "");
    // A backing file removed while attached reads as "<path> (deleted)".
    const backingFile = text.trim().replace(/ \(deleted\)$/, "");
    if (backingFile && isAtOrBeneath(backingFile, real)) found.push({ device: `/dev/${name}`, backingFile });
  }
  return found;
}

/** Unmounts everything beneath `dir` and detaches its loop devices; returns the mounts still there. */
export async function releaseTree(dir: string, options: { attempts?: number } = {}): Promise<string[]> {
  const attempts = options.attempts ?? 5;
  let remaining = await mountsUnder(dir);
  for (let attempt = 0; attempt < attempts && remaining.length > 0; attempt++) {
    for (const point of remaining) await execa("umount", [point], { reject: false, stdin: "ignore" });
    remaining = await mountsUnder(dir);
    // A process that was just killed may still hold a mount for a moment.
    if (remaining.length > 0) await new Promise((resolve) => setTimeout(resolve, 200 * (attempt + 1)));
  }
  for (const loop of await loopsBackedUnder(dir)) {
    await execa("partx", ["-d", loop.device], { reject: false, stdin: "ignore" });
    await execa("losetup", ["-d", loop.device], { reject: false, stdin: "ignore" });
  }
  return remaining;
}

/**
 * Removes `dir` recursively, but only after releasing every mount and loop device beneath it;
 * throws EMOUNTED (naming what is still mounted) and removes nothing when one remains.
 */
export async function safeRemove(dir: string): Promise<void> {
  if ((await resolved(dir)) === undefined) return;
  const remaining = await releaseTree(dir);
  if (remaining.length > 0) {
    throw new WorkError("EMOUNTED", `refusing to remove ${dir}: still mounted beneath it: ${remaining.join(", ")} (unmount them, then remove ${dir})`, { dir, mounts: remaining });
  }
  const loops = await loopsBackedUnder(dir);
  if (loops.length > 0) {
    throw new WorkError("EMOUNTED", `refusing to remove ${dir}: loop devices still attached to files in it: ${loops.map((l) => `${l.device} (${l.backingFile})`).join(", ")}`, { dir, loops });
  }
  await rm(dir, { recursive: true, force: true });
}
