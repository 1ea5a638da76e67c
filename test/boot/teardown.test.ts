// testImage with a fake qemu-system-x86_64 on PATH: the VM is always stopped, a failure is a
// failing check with the serial log kept, and a cancel kills QEMU.
import { execFile, spawn } from "node:child_process";
import { access, chmod, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it, onTestFinished } from "vitest";
import { testImage } from "../../pipeline/boot/index.js";

const run = promisify(execFile);
const PROJECT = path.resolve(import.meta.dirname, "..", "..");

async function setup(fakeQemu: string): Promise<{ dir: string; image: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "pp-teardown-"));
  const bin = path.join(dir, "bin");
  await run("mkdir", ["-p", bin]);
  await writeFile(path.join(bin, "qemu-system-x86_64"), fakeQemu);
  await chmod(path.join(bin, "qemu-system-x86_64"), 0o755);
  const image = path.join(dir, "image.qcow2");
  await run("qemu-img", ["create", "-q", "-f", "qcow2", image, "16M"]);
  const oldPath = process.env.PATH;
  process.env.PATH = `${bin}:${oldPath ?? ""}`;
  onTestFinished(async () => {
    process.env.PATH = oldPath;
    await rm(dir, { recursive: true, force: true });
  });
  return { dir, image };
}

const slim = (): string => "#!/bin/bash\ntrue\n";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("testImage teardown", () => {
  it("reports a VM that dies before ssh as a failing check, with the serial log kept and the overlay removed", async () => {
    const { dir, image } = await setup(`#!/bin/bash
echo "SeaBIOS (fake)"
echo "Kernel panic - not syncing: fake"
echo "qemu: fake failure" >&2
exit 1
`);
    const workDir = path.join(dir, "work");
    const report = await testImage({ image, kind: "knd", workDir, userData: slim, accel: "tcg" });
    expect(report.ok).toBe(false);
    expect(report.checks).toEqual([{ name: "boot", ok: false, evidence: expect.stringMatching(/VM stopped before ssh answered: qemu exited with code 1: qemu: fake failure/) as string }]);
    expect(report.logPath).toBe(path.join(workDir, "serial.log"));
    expect(await readFile(report.logPath, "utf8")).toMatch(/\]\s+Kernel panic - not syncing: fake\n/);
    await expect(access(path.join(workDir, "overlay.qcow2"))).rejects.toThrow();
    // keys, seed and overlay lived in a scratch dir that is gone
    expect((await readdir(workDir)).filter((f) => f.startsWith("vm-"))).toEqual([]);
    expect(JSON.parse(await readFile(path.join(workDir, "report.json"), "utf8"))).toMatchObject({ ok: false, kind: "knd" });
  });

  it("stops QEMU when the test is cancelled", async () => {
    const { dir, image } = await setup(`#!/bin/bash
echo $$ >"${"$"}{0%/*}/../qemu.pid"
trap 'echo terminated >"${"$"}{0%/*}/../qemu.exit"; exit 0' TERM
echo "booting (fake)"
while :; do sleep 0.2; done
`);
    const controller = new AbortController();
    const pidFile = path.join(dir, "qemu.pid");
    const result = testImage({ image, kind: "knc", workDir: path.join(dir, "work"), userData: slim, accel: "tcg", signal: controller.signal }).catch((e: unknown) => e);
    let pid = 0;
    for (let i = 0; i < 200 && pid === 0; i++) {
      pid = Number((await readFile(pidFile, "utf8").catch(() => "0")).trim());
      if (pid === 0) await new Promise((r) => setTimeout(r, 50));
    }
    expect(alive(pid)).toBe(true);
    controller.abort();
    expect(await result).toMatchObject({ code: "EABORTED" });
    expect(alive(pid)).toBe(false);
    expect(await readFile(path.join(dir, "qemu.exit"), "utf8")).toBe("terminated\n");
  });

  it("takes QEMU down when the process gets SIGINT (Ctrl-C)", async () => {
    const { dir, image } = await setup(`#!/bin/bash
echo $$ >"${"$"}{0%/*}/../qemu.pid"
while :; do sleep 0.2; done
`);
    const child = spawn(path.join(PROJECT, "node_modules", ".bin", "vite-node"), [path.join(import.meta.dirname, "fixtures", "interrupted-test-image.ts"), image, path.join(dir, "work")], {
      cwd: PROJECT,
      stdio: "ignore",
      env: process.env,
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, signal) => resolve(signal)));
    const pidFile = path.join(dir, "qemu.pid");
    let pid = 0;
    for (let i = 0; i < 400 && pid === 0; i++) {
      pid = Number((await readFile(pidFile, "utf8").catch(() => "0")).trim());
      if (pid === 0) await new Promise((r) => setTimeout(r, 50));
    }
    onTestFinished(() => {
      if (pid > 0 && alive(pid)) process.kill(pid, "SIGKILL"); // never leave a stray fake VM behind
    });
    expect(alive(pid)).toBe(true);
    expect((await readdir(path.join(dir, "work"))).filter((f) => f.startsWith("vm-"))).toHaveLength(1);
    child.kill("SIGINT");
    expect(await exited).toBe("SIGINT");
    for (let i = 0; i < 40 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
    expect(alive(pid)).toBe(false);
    // the overlay, the private keys and the seed went with it
    expect((await readdir(path.join(dir, "work"))).filter((f) => f.startsWith("vm-"))).toEqual([]);
  });
});

