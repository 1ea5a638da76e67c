// `test-image --direct-kernel-boot`: where the os.boot record comes from (the build's
// images.json, or the Podplane manifest beside the qcow2), the files extracted from a real tiny
// disk and checked before QEMU starts, a stale record refused (exit 1, no QEMU), and the QEMU
// command line with -kernel/-initrd/-append (a fake QEMU records it and dies).
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { PROJECT_ROOT } from "../../pipeline/cli/options.js";
import { readBootRecord, type BootRecord } from "../../pipeline/inspect/index.js";
import { loadManifest } from "../../pipeline/manifest/load.js";
import { writePodplaneManifest } from "../../pipeline/publish/podplane-manifest.js";
import { qemuArgs } from "../../pipeline/boot/index.js";
import { IS_ROOT, NEEDS_ROOT, tinyImage } from "../fs/mount-fixtures.js";
import { resetCliStateAfterEach, runCli } from "../helpers/cli.js";

resetCliStateAfterEach();

async function scratch(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** An images.json as a build writes it, with one qemu record for `qcow2`. */
async function imagesJson(out: string, qcow2: string, boot?: BootRecord): Promise<string> {
  const file = path.join(out, "images.json");
  const record = { name: path.basename(qcow2, ".qcow2"), kind: "knd", arch: "amd64", os: "debian-13", target: "qemu", qemu: { path: qcow2, digest: "sha256:x" }, ...(boot ? { boot } : {}) };
  await writeFile(file, JSON.stringify({ version: 1, images: [record] }));
  return file;
}

describe("QEMU arguments of a direct kernel boot", () => {
  it("adds -kernel, -initrd and -append; the disk stays attached", () => {
    const args = qemuArgs({ arch: "amd64", overlay: "/o.qcow2", seedIso: "/s.iso", accel: "tcg", directBoot: { kernel: "/b/vmlinuz", initrd: "/b/initrd", cmdline: "root=PARTUUID=x-01 ro console=ttyS0,115200" } });
    const at = (flag: string): string | undefined => args[args.indexOf(flag) + 1];
    expect([at("-kernel"), at("-initrd"), at("-append")]).toEqual(["/b/vmlinuz", "/b/initrd", "root=PARTUUID=x-01 ro console=ttyS0,115200"]);
    expect(args).toContain("file=/o.qcow2,if=virtio,format=qcow2,discard=unmap");
    expect(qemuArgs({ arch: "amd64", overlay: "/o.qcow2", seedIso: "/s.iso", accel: "tcg" })).not.toContain("-kernel");
  });
});

describe("test-image --direct-kernel-boot: bad input (exit 2, nothing boots)", () => {
  it("--boot-record without --direct-kernel-boot; no images.json; no record of the image; a record without boot", async () => {
    const dir = await scratch("dkb-usage-");
    const qcow2 = path.join(dir, "images", "podplane-knd-x.qcow2");
    await mkdir(path.dirname(qcow2));
    await writeFile(qcow2, "");
    const alone = await runCli("test-image", qcow2, "--kind", "knd", "--boot-record", path.join(dir, "images.json"));
    expect([alone.code, alone.stderr]).toEqual([2, expect.stringContaining("--boot-record needs --direct-kernel-boot") as string]);
    const missing = await runCli("test-image", qcow2, "--kind", "knd", "--direct-kernel-boot");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`${path.join(dir, "images.json")}: cannot read the boot record (ENOENT)`);
    await imagesJson(dir, path.join(dir, "images", "other.qcow2"));
    const other = await runCli("test-image", qcow2, "--kind", "knd", "--direct-kernel-boot");
    expect(other.code).toBe(2);
    expect(other.stderr).toContain(`no qemu record of ${qcow2}`);
    await imagesJson(dir, qcow2);
    const old = await runCli("test-image", qcow2, "--kind", "knd", "--direct-kernel-boot");
    expect(old.code).toBe(2);
    expect(old.stderr).toContain("the record of podplane-knd-x has no boot block");
  });
});

describe.skipIf(!IS_ROOT)(`test-image --direct-kernel-boot on a real tiny disk (${NEEDS_ROOT})`, () => {
  let dir = "";
  let qcow2 = "";
  let boot: BootRecord;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "dkb-disk-"));
    await mkdir(path.join(dir, "images"));
    qcow2 = await tinyImage(path.join(dir, "images"));
    boot = await readBootRecord(qcow2, { workParent: path.join(dir, "work") });
    return () => rm(dir, { recursive: true, force: true });
  }, 120_000);

  /** A fake QEMU on PATH that records its arguments and dies (the boot then fails, exit 1). */
  async function fakeQemu(): Promise<string> {
    const bin = await scratch("dkb-bin-");
    const argsFile = path.join(bin, "args");
    await writeFile(path.join(bin, "qemu-system-x86_64"), `#!/bin/bash\nprintf '%s\\n' "$@" >"${argsFile}"\necho "fake qemu"\nexit 3\n`);
    await chmod(path.join(bin, "qemu-system-x86_64"), 0o755);
    const saved = { PATH: process.env.PATH, PODPLANE_ACCEL: process.env.PODPLANE_ACCEL };
    process.env.PATH = `${bin}:${saved.PATH ?? ""}`;
    process.env.PODPLANE_ACCEL = "tcg";
    onTestFinished(() => {
      process.env.PATH = saved.PATH;
      if (saved.PODPLANE_ACCEL === undefined) delete process.env.PODPLANE_ACCEL;
      else process.env.PODPLANE_ACCEL = saved.PODPLANE_ACCEL;
    });
    return argsFile;
  }

  it("a record whose kernel digest the image no longer matches: exit 1 naming the file and both digests; QEMU never starts", async () => {
    const argsFile = await fakeQemu();
    const stale = { ...boot, kernel: { ...boot.kernel, digest: `sha256:${"0".repeat(64)}` } };
    await imagesJson(dir, qcow2, stale);
    const result = await runCli("test-image", qcow2, "--kind", "knd", "--direct-kernel-boot", "--work-dir", path.join(dir, "w-stale"));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`EBOOTDIGEST: ${qcow2}: the kernel /boot/vmlinuz-0.0-test (partition 1) does not match the boot record: the record says sha256:${"0".repeat(64)}, the image holds ${boot.kernel.digest}`);
    await expect(readFile(argsFile)).rejects.toThrow(/ENOENT/);
  }, 60_000);

  it("from images.json: QEMU gets the extracted, checked files and the record's command line; they are removed after the test", async () => {
    const argsFile = await fakeQemu();
    await imagesJson(dir, qcow2, boot);
    const work = path.join(dir, "w-ok");
    const result = await runCli("test-image", qcow2, "--kind", "knd", "--direct-kernel-boot", "--work-dir", work, "--json");
    expect(result.code).toBe(1); // the fake QEMU dies
    expect(result.stderr).toContain(`direct kernel boot from ${path.join(dir, "images.json")} (tiny)`);
    const args = (await readFile(argsFile, "utf8")).split("\n");
    const at = (flag: string): string | undefined => args[args.indexOf(flag) + 1];
    expect(at("-kernel")).toBe(path.join(work, "boot", "kernel-vmlinuz-0.0-test"));
    expect(at("-initrd")).toBe(path.join(work, "boot", "initrd-initrd.img-0.0-test"));
    expect(at("-append")).toBe(boot.cmdline);
    expect(boot.cmdline).toMatch(/^root=PARTUUID=[0-9a-f]{8}-01 ro console=tty0 console=ttyS0,115200 consoleblank=0$/);
    expect(await readdir(work)).not.toContain("boot");
  }, 60_000);

  it("from the Podplane manifest beside the qcow2; one that describes another image is refused", async () => {
    await fakeQemu();
    const source = await loadManifest(path.join(PROJECT_ROOT, "manifests", "knd.debian-13.amd64.json"));
    const written = await writePodplaneManifest({ qcow2, manifest: source, boot });
    expect((await loadManifest(written.file)).lock.vmconfig.os.boot).toEqual(boot);
    const result = await runCli("test-image", qcow2, "--kind", "knd", "--direct-kernel-boot", "--boot-record", written.file, "--work-dir", path.join(dir, "w-manifest"));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`direct kernel boot from ${written.file}`);
    expect(result.stderr).toContain("failing check boot");
    const other = path.join(dir, "other.qcow2");
    await writeFile(other, "another image");
    const refused = await runCli("test-image", other, "--kind", "knd", "--direct-kernel-boot", "--boot-record", written.file);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`${written.file} describes another image: its os.image digest is ${written.lock.vmconfig.os.image.digest}`);
  }, 60_000);
});
