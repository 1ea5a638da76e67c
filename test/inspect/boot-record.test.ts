// The os.boot record of a real (tiny) disk image: an MBR disk made by make-disk.sh (root=UUID=
// in its grub.cfg, as the debootstrap base) and a GPT disk with the root on partition 2
// (root=PARTUUID=, a submenu and GRUB variables, as Debian's cloud images). Then extraction
// of the files by the record, and a record whose digest the image no longer matches.
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { beforeAll, describe, expect, it } from "vitest";
import { WorkError } from "../../pipeline/errors/index.js";
import { defaultGrubEntry, directBootCmdline, extractBootFiles, readBootRecord, type BootRecord } from "../../pipeline/inspect/index.js";
import { IS_ROOT, NEEDS_ROOT, hostState, expectClean, tinyImage } from "../fs/mount-fixtures.js";

const sha256 = (text: string): string => `sha256:${createHash("sha256").update(text).digest("hex")}`;

const GPT_PARTUUID = "11111111-2222-4333-8444-555555555555";
const GPT_FS_UUID = "66666666-7777-4888-9999-aaaaaaaaaaaa";

/** A Debian-cloud-like grub.cfg: default 0, the entry, a submenu whose entries must not count. */
function cloudGrubCfg(root: string): string {
  return `set default="0"
function load_video {
  insmod all_video
}
menuentry 'Debian GNU/Linux' --class debian $menuentry_id_option 'gnulinux-simple-${GPT_FS_UUID}' {
\tload_video
\tinsmod ext2
\tsearch --no-floppy --fs-uuid --set=root ${GPT_FS_UUID}
\techo 'Loading Linux 6.12.0-test ...'
\tlinux\t/boot/vmlinuz-6.12.0-test root=${root} ro $vt_handoff console=tty0 console=ttyS0,115200 earlyprintk=ttyS0,115200 consoleblank=0
\tinitrd\t/boot/initrd.img-6.12.0-test
}
submenu 'Advanced options for Debian GNU/Linux' {
\tmenuentry 'Debian GNU/Linux, with Linux 6.11-old' {
\t\tlinux\t/boot/vmlinuz-6.11-old root=${root} ro single
\t\tinitrd\t/boot/initrd.img-6.11-old
\t}
}
`;
}

/** A raw GPT disk (BIOS boot partition 1, ext4 root on 2) holding `files`, converted to qcow2. */
async function gptImage(dir: string, files: Record<string, string>): Promise<string> {
  const root = path.join(dir, "gpt-root");
  for (const [file, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await writeFile(path.join(root, file), content);
  }
  // The kernel by its usual top-level link too: the record must name the real file.
  await symlink("boot/vmlinuz-6.12.0-test", path.join(root, "vmlinuz"));
  const raw = path.join(dir, "gpt.raw");
  await execa("truncate", ["-s", "24M", raw]);
  const table = [
    "label: gpt",
    "start=2048, size=2048, type=21686148-6449-6E6F-744E-656564454649",
    `start=4096, size=40960, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=${GPT_PARTUUID}`,
  ].join("\n");
  await execa("sfdisk", ["--quiet", raw], { input: `${table}\n` });
  await execa("mkfs.ext4", ["-q", "-F", "-U", GPT_FS_UUID, "-E", `offset=${4096 * 512}`, "-d", root, raw, "20M"]);
  const image = path.join(dir, "gpt.qcow2");
  await execa("qemu-img", ["convert", "-O", "qcow2", raw, image]);
  return image;
}

describe("grub.cfg: the default entry", () => {
  it("takes the set default=N top-level entry, never one inside a submenu", () => {
    const entry = defaultGrubEntry(cloudGrubCfg("PARTUUID=x"));
    expect(entry).toEqual({
      title: "Debian GNU/Linux",
      kernel: "/boot/vmlinuz-6.12.0-test",
      initrd: "/boot/initrd.img-6.12.0-test",
      args: ["root=PARTUUID=x", "ro", "$vt_handoff", "console=tty0", "console=ttyS0,115200", "earlyprintk=ttyS0,115200", "consoleblank=0"],
    });
    const second = `set default=1\nmenuentry 'a' {\n linux /a root=/dev/vda1\n initrd /ia\n}\nmenuentry 'b' {\n linux /b root=/dev/vda1\n initrd /ib\n}\n`;
    expect(defaultGrubEntry(second)?.kernel).toBe("/b");
  });

  it("finds nothing in a grub.cfg without a linux + initrd entry", () => {
    expect(defaultGrubEntry("set timeout=0\nmenuentry 'x' {\n chainloader +1\n}\n")).toBeUndefined();
  });
});

describe("the direct boot command line", () => {
  const root = { partUuid: "32b43d98-01", fsUuid: "d9fb04b4-f900-459f-bcbb-d727dfbd29a7" };

  it("points root= at the PARTUUID, drops GRUB-only words, keeps the rest in order", () => {
    const args = ["BOOT_IMAGE=/boot/vmlinuz", "root=UUID=D9FB04B4-F900-459F-BCBB-D727DFBD29A7", "ro", "$vt_handoff", "console=tty0", "console=ttyS0,115200", "consoleblank=0"];
    expect(directBootCmdline(args, root, "amd64", "x")).toBe("root=PARTUUID=32b43d98-01 ro console=tty0 console=ttyS0,115200 consoleblank=0");
  });

  it("adds the serial console of the arch when grub.cfg has none, and a root= when it has none", () => {
    expect(directBootCmdline(["ro", "quiet"], root, "amd64", "x")).toBe("root=PARTUUID=32b43d98-01 ro quiet console=ttyS0,115200");
    expect(directBootCmdline(["root=PARTUUID=32b43d98-01", "ro"], root, "arm64", "x")).toBe("root=PARTUUID=32b43d98-01 ro console=ttyAMA0,115200");
  });

  it("refuses a root= that names another file system or partition", () => {
    expect(() => directBootCmdline(["root=UUID=00000000-0000-4000-8000-000000000000", "ro"], root, "amd64", "img.qcow2")).toThrow(/img.qcow2: grub.cfg boots root=UUID=00000000-0000-4000-8000-000000000000, which is not the partition holding the kernel \(PARTUUID 32b43d98-01/);
    expect(() => directBootCmdline(["root=/dev/vda1"], root, "amd64", "x")).toThrow(WorkError);
  });
});

describe.skipIf(!IS_ROOT)(`readBootRecord and extractBootFiles on real disk images (${NEEDS_ROOT})`, () => {
  let dir = "";
  let mbr = "";
  let gpt = "";
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "boot-record-"));
    mbr = await tinyImage(dir);
    gpt = await gptImage(dir, {
      "boot/grub/grub.cfg": cloudGrubCfg(`PARTUUID=${GPT_PARTUUID}`),
      "boot/vmlinuz-6.12.0-test": "the kernel",
      "boot/initrd.img-6.12.0-test": "the initrd",
      "boot/vmlinuz-6.11-old": "an old kernel",
      "boot/initrd.img-6.11-old": "an old initrd",
    });
    return () => rm(dir, { recursive: true, force: true });
  }, 120_000);

  it("MBR (make-disk.sh): partition 1, the files' sha256, root=UUID= turned into the PARTUUID of the disk id, and nothing left mounted", async () => {
    const before = await hostState();
    const workParent = path.join(dir, "work-mbr");
    const record = await readBootRecord(mbr, { workParent });
    // The MBR PARTUUID is <disk identifier>-<partition number>, from the partition table itself.
    const raw = path.join(dir, "mbr.raw");
    await execa("qemu-img", ["convert", "-O", "raw", mbr, raw]);
    const diskId = (JSON.parse((await execa("sfdisk", ["--json", raw])).stdout) as { partitiontable: { id: string } }).partitiontable.id.replace(/^0x/, "");
    expect(record).toEqual({
      cmdline: `root=PARTUUID=${diskId}-01 ro console=tty0 console=ttyS0,115200 consoleblank=0`,
      kernel: { partition: 1, path: "/boot/vmlinuz-0.0-test", digest: sha256("kernel") },
      initrd: { partition: 1, path: "/boot/initrd.img-0.0-test", digest: sha256("initrd") },
    });
    await expectClean(workParent, before, { removed: false });
    expect((await execa("ls", ["-A", workParent])).stdout).toBe("");
  }, 60_000);

  it("GPT, root on partition 2 (Debian cloud layout): the default entry's files, the GUID as PARTUUID, $vt_handoff dropped", async () => {
    const record = await readBootRecord(gpt, { workParent: path.join(dir, "work-gpt") });
    expect(record).toEqual({
      cmdline: `root=PARTUUID=${GPT_PARTUUID} ro console=tty0 console=ttyS0,115200 earlyprintk=ttyS0,115200 consoleblank=0`,
      kernel: { partition: 2, path: "/boot/vmlinuz-6.12.0-test", digest: sha256("the kernel") },
      initrd: { partition: 2, path: "/boot/initrd.img-6.12.0-test", digest: sha256("the initrd") },
    });
  }, 60_000);

  it("extracts the record's files, each checked by digest (sha256 or sha512)", async () => {
    const record = await readBootRecord(gpt, { workParent: path.join(dir, "work-x") });
    const sha512 = `sha512:${createHash("sha512").update("the initrd").digest("hex")}`;
    const extracted = await extractBootFiles(gpt, { ...record, initrd: { ...record.initrd, digest: sha512 } }, path.join(dir, "boot-out"), { workParent: path.join(dir, "work-x") });
    expect(await readFile(extracted.kernel, "utf8")).toBe("the kernel");
    expect(await readFile(extracted.initrd, "utf8")).toBe("the initrd");
    expect(extracted.cmdline).toBe(record.cmdline);
  }, 60_000);

  it("a record whose digest the image no longer matches: an error naming the file and both digests", async () => {
    const record = await readBootRecord(mbr, { workParent: path.join(dir, "work-y") });
    const stale: BootRecord = { ...record, kernel: { ...record.kernel, digest: sha256("an older kernel") } };
    const error = await extractBootFiles(mbr, stale, path.join(dir, "boot-stale"), { workParent: path.join(dir, "work-y") }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkError);
    expect((error as WorkError).code).toBe("EBOOTDIGEST");
    expect((error as Error).message).toContain(`the kernel /boot/vmlinuz-0.0-test (partition 1) does not match the boot record: the record says ${sha256("an older kernel")}, the image holds ${sha256("kernel")}`);
    expect((await execa("ls", ["-A", path.join(dir, "work-y")])).stdout).toBe("");
  }, 60_000);

  it("a record naming a partition or file the image lacks: an error naming it", async () => {
    const record = await readBootRecord(mbr, { workParent: path.join(dir, "work-z") });
    await expect(extractBootFiles(mbr, { ...record, initrd: { ...record.initrd, partition: 3 } }, path.join(dir, "o1"), { workParent: path.join(dir, "work-z") })).rejects.toThrow(/no partition 3 \(found 1\)/);
    await expect(extractBootFiles(mbr, { ...record, kernel: { ...record.kernel, path: "/boot/vmlinuz-9.9" } }, path.join(dir, "o2"), { workParent: path.join(dir, "work-z") })).rejects.toThrow(/the kernel \/boot\/vmlinuz-9.9 of the boot record is not on partition 1/);
  }, 60_000);
});
