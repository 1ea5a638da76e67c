// `inspect` interrupted while the image is mounted (a fake `bash` on PATH stands in for the
// hygiene check and sleeps there): SIGINT, SIGTERM and SIGHUP unmount, detach and remove the
// work dir; after SIGKILL, the next inspect releases what the killed one left.
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { mountsUnder } from "../../pipeline/fs/safe-remove.js";
import { inspectImage } from "../../pipeline/inspect/index.js";
import { IS_ROOT, NEEDS_ROOT, expectClean, hostState, tinyImage, mountTempDir } from "../fs/mount-fixtures.js";

const PROJECT = path.resolve(import.meta.dirname, "..", "..");

/** Starts `inspect` in a child process and resolves once the image is mounted and the check holds. */
async function inspectHeld(image: string, workParent: string, dir: string): Promise<{ exited: Promise<number | null>; child: ReturnType<typeof spawn> }> {
  const bin = path.join(dir, "bin");
  const marker = path.join(dir, "held");
  await mkdir(bin, { recursive: true });
  const realBash = (await execa("bash", ["-c", "command -v bash"])).stdout.trim();
  await writeFile(path.join(bin, "bash"), `#!${realBash}\necho held >"${marker}"\nexec sleep 300\n`, { mode: 0o755 });
  const child = spawn(path.join(PROJECT, "node_modules", ".bin", "vite-node"), [path.join(import.meta.dirname, "fixtures", "cli.ts"), "inspect", image, "--work-dir", workParent], {
    cwd: PROJECT,
    stdio: "ignore",
    env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ""}` },
  });
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  for (let i = 0; i < 600; i++) {
    if ((await readdir(dir)).includes("held")) return { exited, child };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error("inspect never reached the hygiene check");
}

describe.skipIf(!IS_ROOT)(`inspect interrupted while the image is mounted (${NEEDS_ROOT})`, () => {
  let image = "";
  beforeAll(async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "inspect-image-"));
    image = await tinyImage(dir);
    return () => rm(dir, { recursive: true, force: true });
  }, 60_000);

  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    it(`${signal}: unmounts, detaches and removes its work dir, and fails`, async () => {
      const before = await hostState();
      const dir = await mountTempDir("inspect-signal-");
      const workParent = path.join(dir, "work");
      const { exited, child } = await inspectHeld(image, workParent, dir);
      const [work] = await readdir(workParent);
      expect(await mountsUnder(path.join(workParent, work ?? "?"))).toHaveLength(1);
      child.kill(signal);
      expect(await exited).not.toBe(0);
      expect(await readdir(workParent)).toEqual([]);
      await expectClean(path.join(workParent, work ?? "?"), before);
    }, 60_000);
  }

  it("SIGKILL: the next inspect releases and removes what the killed one left, then inspects", async () => {
    const before = await hostState();
    const dir = await mountTempDir("inspect-kill-");
    const workParent = path.join(dir, "work");
    const { exited, child } = await inspectHeld(image, workParent, dir);
    const [work] = await readdir(workParent);
    child.kill("SIGKILL");
    await exited;
    const stale = path.join(workParent, work ?? "?");
    expect(await mountsUnder(stale)).toHaveLength(1);
    const report = await inspectImage(image, { workParent });
    expect(report.installed).toBeNull();
    await expectClean(stale, before);
    expect(await readdir(workParent)).toEqual([]);
  }, 60_000);

  it("a cancelled inspect leaves nothing, and a successful one leaves nothing either", async () => {
    const before = await hostState();
    const dir = await mountTempDir("inspect-cancel-");
    const workParent = path.join(dir, "work");
    const report = await inspectImage(image, { workParent });
    expect(report.ok).toBe(false); // not a baked image
    expect(await readdir(workParent)).toEqual([]);
    await expect(inspectImage(image, { workParent, signal: AbortSignal.abort() })).rejects.toMatchObject({ code: "ECANCELED" });
    expect(await readdir(workParent)).toEqual([]);
    await expectClean(workParent, before, { removed: false });
  });
});
