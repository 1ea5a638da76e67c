// testImage: boot a throw-away overlay of an image with the slim user-data, then check that it
// came up configured, takes a live update, refuses a bad one, and survives a reboot. The VM is
// always stopped (finally, AbortSignal, and process signal handlers in qemu.ts).
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { defaultCacheDir } from "../cli/options.js";
import { WorkError } from "../errors/index.js";
import type { Arch, Kind } from "../manifest/schema.js";
import { probeAccelerator, type Accelerator } from "../packer/accelerator.js";
import { renderUserData, type UserDataFormat } from "../userdata/index.js";
import {
  checkBootstrap,
  checkCloudInit,
  checkInvalidUpdate,
  checkLiveUpdate,
  checkNoDownload,
  checkReboot,
  checkServiceEnv,
  checkServices,
  CHECK_NAMES,
  foldChecks,
  GUEST,
  unitOf,
  type CheckContext,
  type ImageCheck,
} from "./checks.js";
import { formatEnvFile } from "./envfile.js";
import { probeGuest, type GuestSnapshot, type ProbeRequest } from "./probe.js";
import type { Vm } from "./qemu.js";
import { startTestVm } from "./session.js";
import { waitForSsh, type SshClient } from "./ssh.js";
import { INVALID_UPDATES, LIVE_UPDATE, testUserDataEnv, type Provider } from "./test-env.js";
import { allServiceNames, loadVmconfigSpec } from "./vmconfig-spec.js";

export interface ImageTestReport {
  image: string;
  kind: Kind;
  ok: boolean;
  checks: ImageCheck[];
  logPath: string;
  seconds: number;
}

export interface TestImageOptions {
  image: string;
  kind: Kind;
  workDir?: string;
  signal?: AbortSignal;
  provider?: Provider;
  arch?: Arch;
  format?: UserDataFormat;
  /** Default: the bake's probe (KVM only if a guest really boots with it; PODPLANE_ACCEL=kvm|tcg skips it). */
  accel?: Accelerator;
  /** The user-data to boot with instead of the slim one rendered from the test env (tests, benchmarks). */
  userData?: (env: ReadonlyArray<readonly [string, string]>) => string;
  /** Keep the overlay and seed for inspection. */
  keep?: boolean;
  onProgress?: (line: string) => void;
}

const SSH_TIMEOUT_MS = 6 * 60_000;
const CLOUD_INIT_TIMEOUT_S = 600;

/** A loopback HTTP server standing where a mirror would be; it counts every request it gets. */
async function startSentinel(): Promise<{ port: number; requests: () => number; close: () => Promise<void> }> {
  let count = 0;
  const server = http.createServer((_req, res) => {
    count++;
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return { port, requests: () => count, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Waits for cloud-init and for systemd to finish starting up; returns what it saw. */
async function waitForBoot(ssh: SshClient): Promise<string> {
  const cloudInit = await ssh.run(`sudo -n timeout ${CLOUD_INIT_TIMEOUT_S} cloud-init status --wait >/dev/null; sudo -n cloud-init status`, { timeoutMs: (CLOUD_INIT_TIMEOUT_S + 30) * 1000 });
  const system = await ssh.run("timeout 300 systemctl is-system-running --wait", { timeoutMs: 330_000 });
  return `${cloudInit.stdout.trim()}; system ${system.stdout.trim()}`;
}

/** Delivers a mutable.env like the Nstance agent does and waits for the watcher to have run. */
export function deliveryScript(content: string): string {
  const encoded = Buffer.from(content).toString("base64");
  return [
    "set -eu",
    "unit=nstance-recv-watch.service",
    'before=$(systemctl show -p InvocationID --value "$unit")',
    `install -d -m 0700 ${GUEST.recvDir}`,
    `printf '%s' '${encoded}' | base64 -d >${GUEST.recvDir}/mutable.env.tmp`,
    `mv -f ${GUEST.recvDir}/mutable.env.tmp ${GUEST.recvDir}/mutable.env`,
    `date +%s.%N >${GUEST.recvDir}/write-files.last`,
    "for _ in $(seq 1 240); do",
    '  now=$(systemctl show -p InvocationID --value "$unit")',
    '  state=$(systemctl show -p ActiveState --value "$unit")',
    '  if [ "$now" != "$before" ] && [ "$state" != activating ]; then echo "watcher ran: $state"; exit 0; fi',
    "  sleep 0.5",
    "done",
    'echo "the watcher did not run within 120 s"; exit 1',
    "",
  ].join("\n");
}

async function reboot(ssh: SshClient, vm: Vm, bootId: string, signal: AbortSignal | undefined): Promise<void> {
  await ssh.run("sudo -n systemctl reboot", { timeoutMs: 30_000 }).catch(() => undefined);
  const start = performance.now();
  while (performance.now() - start < SSH_TIMEOUT_MS) {
    if (signal?.aborted) throw new WorkError("EABORTED", "the boot test was cancelled");
    if (!vm.isRunning()) throw new WorkError("EVMEXITED", `the VM stopped during the reboot: ${await vm.exited}`);
    const result = await ssh.run("cat /proc/sys/kernel/random/boot_id", { timeoutMs: 30_000 }).catch(() => undefined);
    if (result?.exitCode === 0 && result.stdout.trim() !== bootId) return;
    await new Promise((resolve) => setTimeout(resolve, 3000));
  }
  throw new WorkError("ESSHTIMEOUT", `the VM did not come back within ${SSH_TIMEOUT_MS / 1000} s of the reboot`);
}

export async function testImage(options: TestImageOptions): Promise<ImageTestReport> {
  const started = performance.now();
  const progress = options.onProgress ?? (() => undefined);
  const provider = options.provider ?? "qemu";
  const workDir = options.workDir ?? (await mkdtemp(path.join(os.tmpdir(), "podplane-test-image-")));
  await mkdir(workDir, { recursive: true });
  const logPath = path.join(workDir, "serial.log");
  const spec = loadVmconfigSpec();
  const userDataEnv = testUserDataEnv(options.kind, provider);
  const userData = options.userData?.(userDataEnv) ?? renderUserData({ kind: options.kind, format: options.format ?? "script", env: userDataEnv });
  await writeFile(path.join(workDir, "user-data.env"), formatEnvFile(userDataEnv), { mode: 0o600 });
  const ctx: CheckContext = { kind: options.kind, spec, userDataEnv, userData };

  const accel = options.accel ?? (await probeAccelerator({ image: options.image, cacheDir: defaultCacheDir(), signal: options.signal })).accelerator;
  progress(`booting ${options.image} (${options.kind}, provider ${provider}) under ${accel}; serial log ${logPath}`);
  const session = await startTestVm({ image: options.image, userData, workDir, accel, hostname: `podplane-test-${options.kind}`, arch: options.arch, signal: options.signal, keep: options.keep });
  const sentinel = await startSentinel().catch(async (error: unknown) => {
    await session.close();
    throw error;
  });
  const { vm, ssh } = session;
  const checks: ImageCheck[] = [];
  const request: ProbeRequest = {
    units: [...allServiceNames(spec).map(unitOf), "podplane-configure.service", "nstance-recv-watch.path", "nstance-recv-watch.service"],
    paths: [GUEST.userDataEnv, GUEST.detectedEnv, GUEST.mutableEnv, GUEST.cloudConfig, GUEST.injectionMarker],
    globs: [`${GUEST.serviceEnvDir}/*.env`, `${GUEST.standinDir}/*.args`],
    connect: { host: "10.0.2.2", port: sentinel.port },
  };
  const snapshots: GuestSnapshot[] = [];
  try {
    const sshSeconds = await waitForSsh(ssh, { timeoutMs: SSH_TIMEOUT_MS, alive: () => vm.isRunning(), describeDeath: () => vm.exited, signal: options.signal });
    progress(`ssh answered after ${sshSeconds.toFixed(0)} s; waiting for cloud-init`);
    progress(`boot finished: ${await waitForBoot(ssh)}`);

    const first = await probeGuest(ssh, request);
    snapshots.push(first);
    checks.push(checkCloudInit(ctx, first), checkBootstrap(ctx, first), checkServiceEnv(ctx, first), checkServices(ctx, first));

    /** Delivers `content` like the Nstance agent, snapshots, and judges the result with `judge`. */
    const deliver = async (content: string, judge: (after: GuestSnapshot) => ImageCheck): Promise<[ImageCheck, GuestSnapshot]> => {
      const sent = await ssh.run("sudo -n bash -s", { input: deliveryScript(content), timeoutMs: 180_000 });
      const after = await probeGuest(ssh, request);
      snapshots.push(after);
      const result = judge(after);
      return [sent.exitCode === 0 ? result : { ...result, ok: false, evidence: `FAIL: ${sent.stdout.trim()}; ${result.evidence}` }, after];
    };

    progress("live update: delivering a new mutable.env");
    const [liveCheck, updated] = await deliver(formatEnvFile(LIVE_UPDATE), (after) => checkLiveUpdate(ctx, first, after, LIVE_UPDATE));
    checks.push(liveCheck);

    let previous = updated;
    const invalidResults: Array<{ label: string; check: ImageCheck }> = [];
    for (const delivery of INVALID_UPDATES) {
      progress(`invalid update: delivering a mutable.env with a ${delivery.label}`);
      const before = previous;
      const [result, after] = await deliver(delivery.content, (snapshot) => checkInvalidUpdate(ctx, before, snapshot));
      invalidResults.push({ label: delivery.label, check: result });
      previous = after;
    }
    checks.push(foldChecks(CHECK_NAMES.invalidUpdate, invalidResults));
    const refused = previous;

    progress("rebooting");
    await reboot(ssh, vm, refused.bootId, options.signal);
    progress(`back after the reboot: ${await waitForBoot(ssh)}`);
    const rebooted = await probeGuest(ssh, request);
    snapshots.push(rebooted);
    checks.push(checkReboot(ctx, refused, rebooted));
  } catch (error) {
    if (options.signal?.aborted) throw new WorkError("EABORTED", "the boot test was cancelled", {}, { cause: error, logPath });
    const message = error instanceof Error ? error.message : String(error);
    checks.push({ name: "boot", ok: false, evidence: `FAIL: ${message}` });
  } finally {
    await session.close();
    await sentinel.close();
  }
  if (snapshots.length > 0) checks.push(checkNoDownload(snapshots, { requests: sentinel.requests(), port: sentinel.port }));
  const ok = checks.length > 0 && checks.every((c) => c.ok);
  const report: ImageTestReport = { image: options.image, kind: options.kind, ok, checks, logPath, seconds: (performance.now() - started) / 1000 };
  await writeFile(path.join(workDir, "report.json"), `${JSON.stringify({ ...report, snapshots }, null, 2)}\n`);
  return report;
}
