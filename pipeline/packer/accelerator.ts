// KVM only if a guest really boots with it: /dev/kvm can exist and still hang a stock kernel
// (PVM-only KVM). The probe boots the base image with KVM and waits for the kernel to reach
// init; if it runs but never gets there, TCG. Only those two verdicts are cached (per host
// kernel and qemu binary); a QEMU that cannot start at all is an error naming what failed.
import { constants } from "node:fs";
import { access, mkdir, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { WorkError } from "../errors/index.js";

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
  /** The KVM device to check (tests point it at a file). */
  kvmDevice?: string;
}

/** Serial console lines that only a kernel which really runs prints. */
export const KERNEL_RUNNING = /Run \/init as init process|systemd\[1\]|Welcome to Debian/;

/** QEMU's own complaint about KVM (a real verdict: this host's KVM does not work for us). */
const KVM_REFUSED = /kvm/i;

type ProbeOutcome = { kind: "booted" } | { kind: "hung" } | { kind: "exited"; exitCode: number | undefined; signal: string | undefined; stderr: string[] } | { kind: "spawn-failed"; message: string };

export async function probeAccelerator(options: ProbeOptions): Promise<AcceleratorChoice> {
  const env = options.env ?? process.env;
  const forced = env.PODPLANE_ACCEL;
  if (forced === "kvm" || forced === "tcg") return { accelerator: forced, reason: "PODPLANE_ACCEL" };
  try {
    await access(options.kvmDevice ?? "/dev/kvm", constants.R_OK | constants.W_OK);
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
  const outcome = await runProbe(qemu, options.image, timeoutMs, options.signal);
  if (options.signal?.aborted) throw new WorkError("EINTERRUPTED", "the accelerator probe was interrupted", {});
  let choice: AcceleratorChoice;
  switch (outcome.kind) {
    case "booted":
      choice = { accelerator: "kvm", reason: "a guest booted with KVM" };
      break;
    case "hung":
      choice = { accelerator: "tcg", reason: `a guest did not reach init with KVM within ${timeoutMs / 1000} s` };
      break;
    case "spawn-failed":
      throw new WorkError("EACCELPROBE", `the accelerator probe could not start ${qemu}: ${outcome.message}`, { qemu });
    case "exited": {
      const kvmLine = outcome.stderr.find((l) => KVM_REFUSED.test(l));
      const how = outcome.signal ? `was killed by ${outcome.signal}` : `exited with ${String(outcome.exitCode)}`;
      // QEMU refusing KVM is a verdict, but a cheap one to redo: use TCG now, cache nothing.
      if (kvmLine) return { accelerator: "tcg", reason: `QEMU could not use KVM: ${kvmLine}` };
      throw new WorkError(
        "EACCELPROBE",
        `the accelerator probe's QEMU (${qemu}, image ${options.image}) ${how} before the guest booted: ${outcome.stderr.slice(-3).join(" | ") || "no message"}`,
        { qemu, image: options.image, exitCode: outcome.exitCode, stderr: outcome.stderr.slice(-10) },
      );
    }
  }
  await mkdir(options.cacheDir, { recursive: true });
  await writeFile(cacheFile, `${JSON.stringify({ key, choice, probedAt: new Date().toISOString() }, null, 2)}\n`);
  return choice;
}

/** Boots the image under KVM until the kernel shows it runs, QEMU exits, or the time is up. */
async function runProbe(qemu: string, image: string, timeoutMs: number, signal: AbortSignal | undefined): Promise<ProbeOutcome> {
  const child = execa(qemu, ["-accel", "kvm", "-cpu", "host", "-m", "512", "-display", "none", "-monitor", "none", "-serial", "stdio", "-nic", "none", "-no-reboot", "-snapshot", "-drive", `file=${image},if=virtio`], {
    stdin: "ignore",
    reject: false,
    buffer: false,
    cancelSignal: signal,
    forceKillAfterDelay: 2_000,
  });
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-8192);
  });
  let timer: NodeJS.Timeout | undefined;
  const booted = await new Promise<"booted" | "hung" | "exited">((resolve) => {
    let seen = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      seen = (seen + chunk).slice(-4096);
      if (KERNEL_RUNNING.test(seen)) resolve("booted");
    });
    timer = setTimeout(() => resolve("hung"), timeoutMs);
    void child.then(() => resolve("exited"));
  });
  clearTimeout(timer);
  child.kill("SIGKILL");
  const result = await child;
  if (booted !== "exited") return { kind: booted };
  const failure = result as { code?: string; originalMessage?: string; exitCode?: number; signal?: string };
  if (failure.code === "ENOENT" || failure.code === "EACCES") return { kind: "spawn-failed", message: failure.originalMessage ?? failure.code };
  return { kind: "exited", exitCode: result.exitCode, signal: result.signal, stderr: stderr.split("\n").map((l) => l.trim()).filter(Boolean) };
}
