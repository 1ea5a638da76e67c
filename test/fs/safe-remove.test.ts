import { spawn } from "node:child_process";
import { lstat, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { decodeMountPath, mountsUnder, parseMountPoints, safeRemove } from "../../pipeline/fs/safe-remove.js";
import { sweepStaleWork, withWorkDir } from "../../pipeline/fs/work-dir.js";
import { IS_ROOT, NEEDS_ROOT, expectClean, hostState, mountTempDir } from "./mount-fixtures.js";

const MOUNTINFO = [
  "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw",
  "40 22 0:5 / /work/x/mnt/dev rw,nosuid shared:2 - devtmpfs udev rw",
  "41 40 0:6 / /work/x/mnt/dev/pts rw shared:3 - devpts devpts rw",
  "42 22 0:7 / /work/x/mnt rw - ext4 /dev/loop3p1 rw",
  "43 22 0:8 / /work/x\\040y rw - tmpfs tmpfs rw",
  "44 22 0:9 / /work/xx rw - tmpfs tmpfs rw",
].join("\n");

describe("mountinfo", () => {
  it("decodes escaped mount points and lists those beneath a directory, deepest first", async () => {
    expect(decodeMountPath("/a\\040b\\011c\\134d")).toBe("/a b\tc\\d");
    expect(parseMountPoints(MOUNTINFO)).toContain("/work/x y");
    const dir = await mountTempDir("mountinfo-");
    const file = path.join(dir, "mountinfo");
    await writeFile(file, MOUNTINFO);
    // /work/x does not exist here: matched by its resolved path; /work/xx and "/work/x y" are not beneath it.
    expect(await mountsUnder("/work/x", file)).toEqual(["/work/x/mnt/dev/pts", "/work/x/mnt/dev", "/work/x/mnt"]);
  });
});

describe.skipIf(!IS_ROOT)(`safeRemove (${NEEDS_ROOT})`, () => {
  it("unmounts a bind mount beneath the tree before removing it: the mounted source survives", async () => {
    const before = await hostState();
    const outside = await mountTempDir("safe-remove-src-");
    await writeFile(path.join(outside, "precious"), "keep me");
    const work = await mountTempDir("safe-remove-work-");
    await mkdir(path.join(work, "mnt/dev"), { recursive: true });
    await execa("mount", ["--bind", outside, path.join(work, "mnt/dev")]);
    await execa("mount", ["-t", "tmpfs", "tmpfs", path.join(work, "mnt/dev")]); // stacked on the bind mount
    await safeRemove(work);
    expect(await readFile(path.join(outside, "precious"), "utf8")).toBe("keep me");
    await expectClean(work, before);
  });

  it("refuses to remove a tree whose mount stays busy, names it, and removes nothing", async () => {
    const outside = await mountTempDir("safe-remove-busy-src-");
    await writeFile(path.join(outside, "precious"), "keep me");
    const work = await mountTempDir("safe-remove-busy-");
    const point = path.join(work, "held");
    await mkdir(point);
    await execa("mount", ["--bind", outside, point]);
    const holder = spawn("sleep", ["60"], { cwd: point, stdio: "ignore" });
    const exited = new Promise((resolve) => holder.once("exit", resolve));
    try {
      await new Promise((resolve) => setTimeout(resolve, 100));
      await expect(safeRemove(work)).rejects.toMatchObject({ code: "EMOUNTED", message: expect.stringContaining(point) as unknown });
      expect(await readFile(path.join(outside, "precious"), "utf8")).toBe("keep me");
      expect((await lstat(work)).isDirectory()).toBe(true);
    } finally {
      // Released here, so the test's own cleanup finds nothing mounted.
      holder.kill("SIGKILL");
      await exited;
      await safeRemove(work);
    }
  });

  it("detaches a loop device backed by a file in the tree", async () => {
    const before = await hostState();
    const work = await mountTempDir("safe-remove-loop-");
    await execa("truncate", ["-s", "1M", path.join(work, "disk.raw")]);
    await execa("losetup", ["--find", "--show", path.join(work, "disk.raw")]);
    await safeRemove(work);
    await expectClean(work, before);
  });

  it("withWorkDir removes its directory after a failure too, and the sweep removes a dead owner's tree", async () => {
    const before = await hostState();
    const parent = await mountTempDir("work-dir-");
    let inside = "";
    await expect(
      withWorkDir(parent, ".step.", async (dir) => {
        inside = dir;
        await mkdir(path.join(dir, "m"));
        await execa("mount", ["-t", "tmpfs", "tmpfs", path.join(dir, "m")]);
        throw new Error("the step failed");
      }),
    ).rejects.toThrow("the step failed");
    await expectClean(inside, before);

    const stale = path.join(parent, ".step.dead");
    await mkdir(path.join(stale, "m"), { recursive: true });
    await writeFile(path.join(stale, "owner.pid"), "999999999\n");
    await execa("mount", ["-t", "tmpfs", "tmpfs", path.join(stale, "m")]);
    const live = path.join(parent, ".step.live");
    await mkdir(live);
    await writeFile(path.join(live, "owner.pid"), `${process.pid}\n`);
    expect(await sweepStaleWork(parent, ".step.")).toEqual([stale]);
    await expectClean(stale, before);
    expect((await lstat(live)).isDirectory()).toBe(true);
  });
});
