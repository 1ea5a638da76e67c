// How much slower a guest runs here than the reference the boot test's timeouts were set for
// (a native amd64 guest under TCG: ssh ≈ 40 s, DESIGN.md). The boot test records each measured
// boot-to-ssh time per arch/accelerator in the cache, and scales its timeouts by the ratio of
// an arch's median to the host arch's: measured, not guessed. Until an arch has been measured,
// a foreign guest under TCG gets a stated prior.
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { hostArch } from "../base/foreign.js";
import type { Arch } from "../manifest/schema.js";
import type { Accelerator } from "../packer/accelerator.js";
import type { SshClient } from "./ssh.js";

export const BOOT_SPEED_FILE = "boot-speed.json";
/** Boot to ssh of a native guest under TCG on this machine (DESIGN.md: 37–44 s). */
export const REFERENCE_SSH_SECONDS = 40;
/** A foreign guest under TCG before any measurement: full-system emulation of another ISA. */
export const FOREIGN_TCG_PRIOR = 4;
const MAX_SCALE = 20;
const SAMPLES = 5;

type SpeedFile = Record<string, { sshSeconds: number[] }>;

function key(arch: Arch, accel: Accelerator): string {
  return `${arch}/${accel}`;
}

async function readSpeeds(cacheDir: string): Promise<SpeedFile> {
  try {
    const doc = JSON.parse(await readFile(path.join(cacheDir, BOOT_SPEED_FILE), "utf8")) as unknown;
    return doc && typeof doc === "object" ? (doc as SpeedFile) : {};
  } catch {
    return {};
  }
}

function median(values: readonly number[] | undefined): number | undefined {
  const clean = (values ?? []).filter((v) => Number.isFinite(v) && v > 0).sort((a, b) => a - b);
  if (clean.length === 0) return undefined;
  return clean[Math.floor(clean.length / 2)];
}

export interface TimeScale {
  factor: number;
  reason: string;
}

/** The factor for a guest of `arch`: ≥ 1, from measurements where there are some. */
export async function bootTimeScale(arch: Arch, accel: Accelerator, cacheDir: string, host: Arch | undefined = hostArch()): Promise<TimeScale> {
  if (accel === "kvm" || arch === host) return { factor: 1, reason: `native ${arch} guest (${accel})` };
  const speeds = await readSpeeds(cacheDir);
  const mine = median(speeds[key(arch, accel)]?.sshSeconds);
  if (mine === undefined) return { factor: FOREIGN_TCG_PRIOR, reason: `${arch} under ${accel} not measured yet: prior ×${FOREIGN_TCG_PRIOR}` };
  const native = host ? median(speeds[key(host, accel)]?.sshSeconds) : undefined;
  const reference = native ?? REFERENCE_SSH_SECONDS;
  const factor = Math.min(MAX_SCALE, Math.max(1, mine / reference));
  const against = native ? `${host ?? "host"} ${native.toFixed(0)} s (measured)` : `the ${REFERENCE_SSH_SECONDS} s reference`;
  return { factor: Math.round(factor * 100) / 100, reason: `${arch} boot-to-ssh median ${mine.toFixed(0)} s vs ${against}` };
}

/** Adds one boot-to-ssh measurement (the last few are kept); a write race loses a sample only. */
export async function recordBootSpeed(arch: Arch, accel: Accelerator, sshSeconds: number, cacheDir: string): Promise<void> {
  if (!(sshSeconds > 0) || !Number.isFinite(sshSeconds)) return;
  const speeds = await readSpeeds(cacheDir);
  const entry = speeds[key(arch, accel)]?.sshSeconds ?? [];
  speeds[key(arch, accel)] = { sshSeconds: [...entry, Math.round(sshSeconds * 10) / 10].slice(-SAMPLES) };
  await mkdir(cacheDir, { recursive: true });
  const file = path.join(cacheDir, BOOT_SPEED_FILE);
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(speeds, null, 2)}\n`);
  await rename(temp, file);
}

/** Scales `ms`; a helper so every timeout of a boot test scales alike. */
export function scaled(ms: number, scale: TimeScale): number {
  return Math.round(ms * scale.factor);
}

/** The same client with every host-side timeout scaled. */
export function scaleSsh(ssh: SshClient, scale: TimeScale): SshClient {
  if (scale.factor === 1) return ssh;
  return { run: (command, options = {}) => ssh.run(command, options.timeoutMs === undefined ? options : { ...options, timeoutMs: scaled(options.timeoutMs, scale) }) };
}
