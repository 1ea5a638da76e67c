// KVM only if a guest really boots with it: /dev/kvm can exist and still hang a stock kernel
// (PVM-only KVM). The probe boots the base image with KVM and waits for the kernel to reach
// init; otherwise TCG. The answer is cached per host kernel and qemu binary.
import { constants } from "node:fs";
import { access, mkdir, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";

export type Accelerator = "kvm" | "tcg";

export interface AcceleratorChoice {
  accelerator: Accelerator;
  reason: string;
}

export interface ProbeOptions {
  image: string;
  cacheDir: string;
  qemuBinary?: string;
  timeoutMs?: number;
  signal?: AbortSignal | undefined;
  env?: NodeJS.ProcessEnv;
}

/** Serial console lines that only a kernel which really runs prints. */
export const KERNEL_RUNNING = /Run \/init as init process|systemd\[1\]|Welcome to Debian/;

export async function probeAccelerator(options: ProbeOptions): Promise<AcceleratorChoice> {
  const env = options.env ?? process.env;
  const forced = env.PODPLANE_ACCEL;
  if (forced === "kvm" || forced === "tcg") return { accelerator: forced, reason: "PODPLANE_ACCEL" };
  try {
    await access("/dev/kvm", constants.R_OK | constants.W_OK);
  } catch {
    return { accelerator: "tcg", reason: "no usable /dev/kvm" };
  }
  const qemu = options.qemuBinary ?? "qemu-system-x86_64";
  const cacheFile = path.join(options.cacheDir, "accelerator-probe.json");
  const key = `${os.release()} ${qemu}`;
  try {
    const cached = JSON.parse(await readFile(cacheFile, "utf8")) as { key?: string; choice?: AcceleratorChoice };
    if (cached.key === key && cached.choice) return cached.choice;
  } catch {
    // no cached answer yet
  }
  const timeoutMs = options.timeoutMs ?? 30_000;
  const child = execa(qemu, ["-accel", "kvm", "-cpu", "host", "-m", "512", "-display", "none", "-monitor", "none", "-serial", "stdio", "-nic", "none", "-no-reboot", "-snapshot", "-drive", `file=${options.image},if=virtio`], {
    stdin: "ignore",
    reject: false,
    buffer: false,
    cancelSignal: options.signal,
    timeout: timeoutMs,
    forceKillAfterDelay: 2_000,
  });
  const booted = await new Promise<boolean>((resolve) => {
    let seen = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      seen = (seen + chunk).slice(-4096);
      if (KERNEL_RUNNING.test(seen)) resolve(true);
    });
    void child.then(() => resolve(false));
  });
  child.kill("SIGKILL");
  await child;
  const choice: AcceleratorChoice = booted
    ? { accelerator: "kvm", reason: "a guest booted with KVM" }
    : { accelerator: "tcg", reason: `a guest did not reach init with KVM within ${timeoutMs / 1000} s` };
  if (!options.signal?.aborted) {
    await mkdir(options.cacheDir, { recursive: true });
    await writeFile(cacheFile, `${JSON.stringify({ key, choice, probedAt: new Date().toISOString() }, null, 2)}\n`);
  }
  return choice;
}
