// `podplane-images test-image` through the CLI entry point: usage errors exit 2; a failing boot
// (a fake qemu that dies) exits 1 with the failing check, the serial-log tail and the log path.
import { execFile } from "node:child_process";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it, onTestFinished } from "vitest";
import { resetCliStateAfterEach, runCli } from "../helpers/cli.js";

const run = promisify(execFile);

const cli = runCli;
resetCliStateAfterEach();

describe("podplane-images test-image", () => {
  it("exits 2 for a missing image or a bad kind", async () => {
    const missing = await cli("test-image", "/nonexistent/image.qcow2", "--kind", "knd");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("/nonexistent/image.qcow2: no such image");
    expect((await cli("test-image", "/nonexistent/image.qcow2", "--kind", "kxx")).code).toBe(2);
    expect((await cli("test-image", "/nonexistent/image.qcow2", "--kind", "knd", "--provider", "gcp")).code).toBe(2);
  });

  it("exits 2 naming the problem for a bad --user-data-env, --provider qemu (now local), --provider with a file, or a --delivery without recv/", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "pp-test-image-inputs-"));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const image = path.join(dir, "image.qcow2");
    await writeFile(image, "");
    const env = path.join(dir, "user-data.env");
    await writeFile(env, "INSTANCE_ID='i-1'\nPROVIDER_KIND='qemu'\nNSTANCE_SERVER_REGISTRATION_ADDR='10.0.2.100:8443'\nNSTANCE_SERVER_AGENT_ADDR='10.0.2.100:8444'\n");
    const bad = await cli("test-image", image, "--kind", "knd", "--user-data-env", env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`${env}: PROVIDER_KIND=qemu is not one of local, aws, google, proxmox`);
    expect((await cli("test-image", image, "--kind", "knd", "--provider", "qemu")).code).toBe(2);
    const both = await cli("test-image", image, "--kind", "knd", "--provider", "aws", "--user-data-env", env);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("--provider and --user-data-env exclude each other");
    const delivery = await cli("test-image", image, "--kind", "knd", "--delivery", dir);
    expect(delivery.code).toBe(2);
    expect(delivery.stderr).toContain(`--delivery ${dir}: no recv/ directory`);
  });

  it("exits 1 with the failing check, the serial-log tail and the log path; --json prints the report", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "pp-test-image-cli-"));
    const bin = path.join(dir, "bin");
    await mkdir(bin);
    await writeFile(path.join(bin, "qemu-system-x86_64"), '#!/bin/bash\necho "GRUB loading (fake)"\necho "end Kernel panic (fake)"\nexit 3\n');
    await chmod(path.join(bin, "qemu-system-x86_64"), 0o755);
    const image = path.join(dir, "image.qcow2");
    await run("qemu-img", ["create", "-q", "-f", "qcow2", image, "16M"]);
    const saved = { PATH: process.env.PATH, PODPLANE_ACCEL: process.env.PODPLANE_ACCEL };
    process.env.PATH = `${bin}:${saved.PATH ?? ""}`;
    process.env.PODPLANE_ACCEL = "tcg";
    onTestFinished(async () => {
      process.env.PATH = saved.PATH;
      if (saved.PODPLANE_ACCEL === undefined) delete process.env.PODPLANE_ACCEL;
      else process.env.PODPLANE_ACCEL = saved.PODPLANE_ACCEL;
      await rm(dir, { recursive: true, force: true });
    });

    const result = await cli("test-image", image, "--kind", "knc", "--work-dir", path.join(dir, "work"), "--json");
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as { ok: boolean; logPath: string; checks: Array<{ name: string; ok: boolean }> };
    expect(report).toMatchObject({ ok: false, logPath: path.join(dir, "work", "serial.log"), checks: [{ name: "boot", ok: false }] });
    expect(result.stderr).toContain("failing check boot: FAIL: the VM stopped before ssh answered: qemu exited with code 3");
    expect(result.stderr).toMatch(/serial log tail \(.*serial\.log\):\n\[\s*[\d.]+\] GRUB loading \(fake\)\n\[\s*[\d.]+\] end Kernel panic \(fake\)/);
    expect(result.stderr).toContain(`log: ${report.logPath}`);
  });
});
