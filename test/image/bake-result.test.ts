// The qemu build VM bakes without a communicator: its command line runs the bake, its console is
// the host's only view of it, and its last word decides whether the image is published.
import { appendFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { bakeOutcome, followConsole, requireBakeSuccess } from "../../pipeline/image/bake-result.js";
import { buildVmCmdline } from "../../pipeline/image/build-vm-boot.js";
import { tempDir } from "../helpers/temp-dir.js";

describe("the bake's outcome from the build VM's console", () => {
  it("is ok only when the bake's last word is ok (CR LF line ends, kernel lines around it)", () => {
    expect(bakeOutcome("[ 1.0] Linux\r\npodplane-bake: [30.1] started\r\npodplane-bake: [90.5] ok\r\n[ 91.2] reboot: Power down\r\n")).toEqual({ ok: true });
    expect(bakeOutcome("podplane-bake: [30.1] started\r\npodplane-bake: [60.0] cleanup\r\n")).toEqual({ ok: false, last: "cleanup" });
    expect(bakeOutcome("podplane-bake: [90.5] ok\r\npodplane-bake: [91.0] failed: exit 1 at line 3 of build-vm.sh: false\r\n")).toEqual({ ok: false, last: "failed: exit 1 at line 3 of build-vm.sh: false" });
    // Not the bake's own line: something else printing "ok" proves nothing.
    expect(bakeOutcome("podplane-bake: ok\r\nok\r\n")).toEqual({ ok: false });
    expect(bakeOutcome("")).toEqual({ ok: false });
  });

  it("fails with EBAKE naming the console log and its last lines", async () => {
    const dir = await tempDir();
    const log = path.join(dir, "x.console.log");
    await writeFile(log, "podplane-bake: [30.1] started\r\npodplane-install: error: kubelet: missing\r\n[ 40.0] reboot: Power down\r\n");
    await expect(requireBakeSuccess(log)).rejects.toMatchObject({ code: "EBAKE", data: { serialLog: log } });
    await expect(requireBakeSuccess(log)).rejects.toThrow(/its last word was "started"[^]*podplane-install: error: kubelet: missing[^]*reboot: Power down/);
    await expect(requireBakeSuccess(path.join(dir, "never-written.log"))).rejects.toThrow(/the console log is empty/);
    await writeFile(log, "podplane-bake: [90.5] ok\r\n");
    await expect(requireBakeSuccess(log)).resolves.toBeUndefined();
  });

  it("follows the console while QEMU writes it: whole lines, in order, the rest when stopped", async () => {
    const dir = await tempDir();
    const log = path.join(dir, "c.log");
    const lines: string[] = [];
    const follower = followConsole(log, (line) => lines.push(line), 20);
    await new Promise((resolve) => setTimeout(resolve, 60)); // before the file exists
    await writeFile(log, "podplane-bake: [1.0] started\r\npodplane-ins");
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(lines).toEqual(["podplane-bake: [1.0] started"]);
    await appendFile(log, "tall: verified 3 artifacts\r\nlast line without an end");
    await follower.stop();
    expect(lines).toEqual(["podplane-bake: [1.0] started", "podplane-install: verified 3 artifacts", "last line without an end"]);
  });
});

describe("the build VM's command line", () => {
  const cmdline = buildVmCmdline("root=PARTUUID=0a1b2c3d-01 ro console=tty0 console=ttyS0,115200");

  it("keeps the base's own and makes the bake the boot's init, powering off either way", () => {
    expect(cmdline.startsWith("root=PARTUUID=0a1b2c3d-01 ro console=tty0 console=ttyS0,115200 fsck.mode=skip panic=1 init=/bin/sh -- -c \"")).toBe(true);
    const command = /-- -c "([^"]+)"$/.exec(cmdline)?.[1] ?? "";
    const steps = command.split("; ");
    expect(steps[0]).toBe("exec >/dev/console 2>&1");
    expect(steps[1]).toBe("mkdir -p /run/podplane-stage && mount -o ro -t iso9660 $(blkid -L PODPLANE_STAGE) /run/podplane-stage && /bin/bash /run/podplane-stage/podplane-bake/build-vm.sh");
    // Whatever the bake did: synced, read-only, powered off; init never exits (a panic).
    expect(steps.slice(2)).toEqual(["sync", "mount -o remount,ro /", "echo o >/proc/sysrq-trigger", "sleep 60"]);
  });

  it("has no = and no double quote inside init's argument (the kernel would split or end it there)", () => {
    const command = cmdline.slice(cmdline.indexOf('-- -c "') + 7, -1);
    expect(command).not.toMatch(/[="]/);
  });
});
