// The accelerator probe caches only a real verdict about KVM (a guest booted, or ran and never
// reached init); a QEMU that cannot start is an error naming what failed, never cached as TCG.
import { chmod, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { WorkError } from "../../pipeline/errors/index.js";
import { probeAccelerator } from "../../pipeline/packer/accelerator.js";
import { tempDir } from "../helpers/temp-dir.js";

async function setup(qemuBody: string | undefined) {
  const dir = await tempDir("pp-accel-");
  const kvmDevice = path.join(dir, "kvm");
  await writeFile(kvmDevice, "");
  const image = path.join(dir, "base.qcow2");
  await writeFile(image, "");
  const qemuBinary = path.join(dir, "qemu-system-x86_64");
  if (qemuBody !== undefined) {
    await writeFile(qemuBinary, `#!/bin/bash\n${qemuBody}\n`);
    await chmod(qemuBinary, 0o755);
  }
  const cacheDir = path.join(dir, "cache");
  const probe = () => probeAccelerator({ image, cacheDir, qemuBinary, kvmDevice, timeoutMs: 1_500, env: {} });
  const cached = () => stat(path.join(cacheDir, "accelerator-probe.json")).then(() => true, () => false);
  return { probe, cached, cacheDir, image, qemuBinary };
}

async function failure(promise: Promise<unknown>): Promise<WorkError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(WorkError);
  return error as WorkError;
}

describe("probeAccelerator", () => {
  it("caches kvm when the guest reaches init", async () => {
    const t = await setup('echo "[    1.0] Run /init as init process"; exec sleep 30');
    expect(await t.probe()).toEqual({ accelerator: "kvm", reason: "a guest booted with KVM" });
    expect(await t.cached()).toBe(true);
  });

  it("caches tcg when QEMU runs but the guest never reaches init", async () => {
    const t = await setup("echo SeaBIOS; exec sleep 30");
    expect((await t.probe()).accelerator).toBe("tcg");
    const saved = JSON.parse(await readFile(path.join(t.cacheDir, "accelerator-probe.json"), "utf8")) as { choice: { reason: string } };
    expect(saved.choice.reason).toMatch(/did not reach init with KVM within 1.5 s/);
  });

  it("is an error, not cached, when the QEMU binary is missing", async () => {
    const t = await setup(undefined);
    const error = await failure(t.probe());
    expect(error.message).toContain(`could not start ${t.qemuBinary}`);
    expect(await t.cached()).toBe(false);
  });

  it("is an error naming QEMU's complaint, not cached, when QEMU exits (a bad image)", async () => {
    const t = await setup(`echo "qemu-system-x86_64: -drive file=$13: Could not open '$13': Image is not in qcow2 format" >&2; exit 1`);
    const error = await failure(t.probe());
    expect(error.message).toMatch(/exited with 1 before the guest booted: .*Image is not in qcow2 format/);
    expect(error.message).toContain(t.image);
    expect(await t.cached()).toBe(false);
  });

  it("uses tcg without caching when QEMU refuses KVM", async () => {
    const t = await setup('echo "Could not access KVM kernel module: Permission denied" >&2; echo "qemu-system-x86_64: failed to initialize kvm: Permission denied" >&2; exit 1');
    const choice = await t.probe();
    expect(choice.accelerator).toBe("tcg");
    expect(choice.reason).toMatch(/QEMU could not use KVM: .*KVM kernel module/);
    expect(await t.cached()).toBe(false);
  });
});
