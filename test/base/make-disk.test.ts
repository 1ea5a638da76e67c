// make-disk.sh refuses a layout it does not know before touching anything.
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it, onTestFinished } from "vitest";
import { MAKE_DISK_SCRIPT } from "../../pipeline/base/recipe.js";

describe("make-disk.sh", () => {
  it("an unknown firmware is an error naming it; nothing is created", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "make-disk-"));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    await writeFile(path.join(dir, "rootfs.tar"), "");
    const result = await execa("bash", [MAKE_DISK_SCRIPT, path.join(dir, "rootfs.tar"), path.join(dir, "out.qcow2"), "64", "coreboot"], { reject: false });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/firmware must be bios or efi, not 'coreboot'/);
    expect(await readdir(dir)).toEqual(["rootfs.tar"]);
  });
});
