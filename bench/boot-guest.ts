// The boot benchmark's steps on the guest, over the boot test's ssh client. Each checks what it
// ran: a non-zero exit of cloud-init, the delivery, the watcher, configure.sh or ssh itself, or a
// service that is not active, is an error that names the step, never a time.
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { checkServices, GUEST, RUNTIME_GLOBS, serviceUsers, unitOf, type CheckContext } from "../pipeline/boot/checks.js";
import { deliveryScript } from "../pipeline/boot/deliver.js";
import type { DeliveryFile } from "../pipeline/boot/delivery.js";
import { probeGuest } from "../pipeline/boot/probe.js";
import { runRetryingSshDrops, type SshClient, type SshResult } from "../pipeline/boot/ssh.js";
import { allServiceNames } from "../pipeline/boot/vmconfig-spec.js";
import { DELIVERY_EVENT, type GuestTimings } from "./boot-phases.js";
import type { ConfigureRerun } from "./boot-report.js";
import { timingsIn } from "./configure-timings.js";
import { PROFILED_PS4 } from "./trace-profile.js";

const CLOUD_INIT_TIMEOUT_S = 900;
/** Written by cloud-init at the end of its final stage (after the user-data), readable by anyone. */
const BOOT_FINISHED = "/var/lib/cloud/instance/boot-finished";
// Generous: on a shared host at load 15-20 a TCG guest runs 5-10× slower (a delivery took over
// 300 s once); a step that times out is an error, never a time, so a long bound costs nothing.
const STEP_TIMEOUT_MS = 900_000;

const tail = (text: string, lines = 5): string => text.trim().split("\n").slice(-lines).join(" | ");

/** Throws when ssh or the command failed; `what` names the step. */
export function ensureOk(result: SshResult, what: string): SshResult {
  if (result.exitCode === 255) throw new Error(`${what}: ssh failed (exit 255): ${tail(result.stderr) || "no message"}`);
  if (result.exitCode !== 0) throw new Error(`${what}: exit ${result.exitCode}: ${tail(`${result.stdout}\n${result.stderr}`) || "no output"}`);
  return result;
}

/**
 * cloud-init done without errors (the user-data, and with it the first configure.sh, exited 0) and
 * systemd running. `factor` scales the guest-side limits for a slower guest (pipeline/boot/speed.ts;
 * the host-side ones scale with scaleSsh), as the boot test does.
 */
export async function waitForFirstBoot(ssh: SshClient, factor = 1): Promise<void> {
  const cloudInitS = Math.round(CLOUD_INIT_TIMEOUT_S * factor);
  // First a wait that forks nothing until cloud-init's final stage has written boot-finished:
  // `cloud-init status --wait` is a Python process polling four times a second, which takes the
  // one emulated CPU from the user-data being timed. Then status --wait answers at once.
  const quiet = `exec {t}<> <(:); for ((i = 0; i < ${cloudInitS * 5}; i++)); do [ -e ${BOOT_FINISHED} ] && break; read -r -t 0.2 -u "$t" _ || true; done`;
  await runRetryingSshDrops(ssh, `bash -c '${quiet}'`, { timeoutMs: (CLOUD_INIT_TIMEOUT_S + 30) * 1000 });
  const status = await runRetryingSshDrops(ssh, `sudo -n timeout ${cloudInitS} cloud-init status --wait --long`, { timeoutMs: (CLOUD_INIT_TIMEOUT_S + 30) * 1000 });
  if (status.exitCode !== 0) {
    const output = await ssh.run("sudo -n tail -n 15 /var/log/cloud-init-output.log", { timeoutMs: 60_000 });
    const kind = status.exitCode === 2 ? "finished with recoverable errors" : status.exitCode === 124 ? `did not finish within ${cloudInitS} s` : "failed";
    throw new Error(`cloud-init ${kind} (exit ${status.exitCode}): ${tail(status.stdout, 8)}; the user-data's last output: ${tail(output.stdout, 15)}`);
  }
  const system = await ssh.run(`timeout ${Math.round(300 * factor)} systemctl is-system-running --wait`, { timeoutMs: 330_000 });
  if (system.stdout.trim() !== "running") {
    const failed = await ssh.run("systemctl --failed --no-legend --plain", { timeoutMs: 60_000 });
    throw new Error(`systemd is ${system.stdout.trim() || `? (exit ${system.exitCode})`} after the first boot; failed units: ${tail(failed.stdout, 10) || "none listed"}`);
  }
}

/** Sends the delivery as the boot test does, marking the moment in the journal (DELIVERY_EVENT) just before write-files.last. */
export async function deliver(ssh: SshClient, files: readonly DeliveryFile[]): Promise<void> {
  const script = deliveryScript({ files, setup: [`logger -t podplane-bench -- ${DELIVERY_EVENT.replace(/^bench:/, "")}`] });
  const sent = ensureOk(await ssh.run("sudo -n bash -s", { input: script, timeoutMs: STEP_TIMEOUT_MS }), "the delivery");
  // A oneshot that exited 0 is inactive again; "failed" means the watcher (and its configure.sh) failed.
  const ran = /watcher ran: (\S+)/.exec(sent.stdout)?.[1];
  if (ran !== "inactive") {
    const journal = await ssh.run("sudo -n journalctl -b -u nstance-recv-watch.service -n 15 --no-pager -o cat", { timeoutMs: 60_000 });
    throw new Error(`the delivery's watcher (nstance-recv-watch.service, which runs configure.sh) ended ${ran ?? "in an unknown state"}: ${tail(journal.stdout, 15)}`);
  }
}

/** A guest script: waits (bounded) until every unit is active; exit 1 with each unit's state otherwise. */
export function activeWaitScript(units: readonly string[], seconds = 600): string {
  for (const unit of units) if (!/^[A-Za-z0-9@._-]+$/.test(unit)) throw new Error(`not a unit name: ${JSON.stringify(unit)}`);
  const list = units.join(" ");
  return [
    "set -u",
    `units="${list}"`,
    `for _ in $(seq 1 ${seconds}); do`,
    "  states=$(systemctl is-active $units || true)",
    '  printf \'%s\\n\' "$states" | grep -qvx active || exit 0',
    "  sleep 1",
    "done",
    'paste -d" " <(printf \'%s\\n\' $units) <(printf \'%s\\n\' "$states")',
    "exit 1",
    "",
  ].join("\n");
}

/** `factor` scales the guest-side wait as waitForFirstBoot's. */
export async function waitActive(ssh: SshClient, units: readonly string[], factor = 1): Promise<void> {
  const seconds = Math.round(600 * factor);
  const result = await ssh.run("bash -s", { input: activeWaitScript(units, seconds), timeoutMs: STEP_TIMEOUT_MS });
  if (result.exitCode === 1) throw new Error(`not every service became active within ${seconds} s of the delivery: ${result.stdout.trim().split("\n").filter((l) => !l.endsWith(" active")).join(", ")}`);
  ensureOk(result, "waiting for the services");
}

export async function collectTimings(ssh: SshClient, units: readonly string[]): Promise<GuestTimings> {
  const script = await readFile(path.join(import.meta.dirname, "boot-timings.py"), "utf8");
  const result = ensureOk(await ssh.run(`sudo -n python3 - ${units.join(",")}`, { input: script, timeoutMs: 120_000 }), "boot-timings.py");
  return JSON.parse(result.stdout) as GuestTimings;
}

/** The boot test's services-active check (main process, user, environment, sockets, no failed unit). */
export async function checkActiveServices(ssh: SshClient, ctx: CheckContext): Promise<void> {
  const snapshot = await probeGuest(ssh, {
    units: [...allServiceNames(ctx.spec).map(unitOf), "nstance-recv-watch.path"],
    paths: [GUEST.userDataEnv, GUEST.detectedEnv, GUEST.mutableEnv],
    globs: [...RUNTIME_GLOBS],
    users: serviceUsers(ctx.spec, ctx.kind),
    access: ["/opt/key/*/*", `${GUEST.serviceEnvDir}/*.env`],
  });
  const check = checkServices(ctx, snapshot);
  if (!check.ok) throw new Error(`the boot test's ${check.name} check failed after the delivery: ${check.evidence}`);
}

/**
 * Runs configure.sh with unchanged inputs, timed by the guest's clock; before it, the same sudo
 * with nothing to do and a root bash sourcing common.sh alone (what every vmconfig script pays
 * before its first phase), so the time around configure.sh's own phases can be told apart.
 * Prints "start end rc before_sudo after_sudo after_source" (uptime seconds), then configure's stderr.
 */
export const RERUN_CONFIGURE = [
  "u() { cut -d' ' -f1 /proc/uptime; }",
  "a=$(u); sudo -n true; b=$(u)",
  "sudo -n bash -c 'source /opt/podplane/lib/common.sh'; c=$(u)",
  "s=$(u)",
  "rc=0",
  "err=$(sudo -n /opt/podplane/bin/configure.sh 2>&1 >/dev/null) || rc=$?",
  "e=$(u)",
  'printf \'%s %s %s %s %s %s\\n\' "$s" "$e" "$rc" "$a" "$b" "$c"',
  "printf '%s\\n' \"$err\"",
].join("; ");

export function parseRerun(stdout: string): ConfigureRerun {
  const [first = "", ...rest] = stdout.split("\n");
  const num = "(\\d+(?:\\.\\d+)?)";
  const match = new RegExp(`^${num} ${num} (\\d+)(?: ${num} ${num} ${num})?$`).exec(first.trim());
  if (!match) throw new Error(`configure.sh rerun: unexpected first line ${JSON.stringify(first)}`);
  const output = rest.join("\n");
  if (match[3] !== "0") throw new Error(`configure.sh with unchanged inputs exited ${match[3]}: ${tail(output)}`);
  // restart.sh's summary, or configure.sh's own when its no-op fast path (lib/noop.sh) ran.
  const restartSummary = /podplane-(?:restart|configure): (?:no-op: )?(started: .*)$/m.exec(output)?.[1] ?? "";
  if (!restartSummary) throw new Error(`configure.sh rerun: restart.sh printed no summary line: ${tail(output)}`);
  const between = (from: string | undefined, to: string | undefined): number | undefined => (from === undefined || to === undefined ? undefined : Number(to) - Number(from));
  return {
    vmSeconds: Number(match[2]) - Number(match[1]),
    timings: timingsIn(output, "configure.sh with unchanged inputs"),
    restartSummary,
    noop: /^started: none; restarted: none; stopped: none;/.test(restartSummary),
    sudoSeconds: between(match[4], match[5]),
    sourceSeconds: between(match[5], match[6]),
  };
}

/** Where --trace-delivery's traced bash processes append their lines on the guest. */
const DELIVERY_TRACE = "/run/podplane-bench-delivery-trace.txt";

/**
 * Makes the delivery's watcher and every bash it runs (update-mutable-env.sh, configure.sh,
 * restart.sh) trace themselves, stamped for profileTrace: a runtime drop-in gives the watcher's
 * unit BASH_ENV, a file every non-interactive bash sources first (root's bash takes no PS4 from the
 * environment, so it is set there). Gone at the next boot (/run). Run before the delivery.
 */
export async function traceDeliveryOn(ssh: SshClient): Promise<void> {
  const script = [
    "set -eu",
    "mkdir -p /run/systemd/system/nstance-recv-watch.service.d",
    `cat >/run/podplane-bench-trace.sh <<'TRACE'\nPS4='${PROFILED_PS4}'\nexec {BASH_XTRACEFD}>>${DELIVERY_TRACE}\nset -x\nTRACE`,
    "printf '[Service]\\nEnvironment=BASH_ENV=/run/podplane-bench-trace.sh\\n' >/run/systemd/system/nstance-recv-watch.service.d/bench-trace.conf",
    "systemctl daemon-reload",
    "",
  ].join("\n");
  ensureOk(await ssh.run("sudo -n bash -s", { input: script, timeoutMs: STEP_TIMEOUT_MS }), "turning the delivery trace on");
}

/** The delivery's trace (traceDeliveryOn) into `file`; returns its text. */
export async function fetchDeliveryTrace(ssh: SshClient, file: string): Promise<string> {
  const result = ensureOk(await ssh.run(`sudo -n cat ${DELIVERY_TRACE}`, { timeoutMs: 120_000 }), "fetching the delivery trace");
  await writeFile(file, result.stdout);
  return result.stdout;
}

/** configure.sh once more under `bash -x`, each traced line stamped with $EPOCHREALTIME; the trace goes to `file`. */
export async function traceRerun(ssh: SshClient, file: string): Promise<void> {
  // Root's bash does not take PS4 from the environment: set inside (the stamp profileTrace reads;
  // its `$`s escaped for the double quotes below); restart.sh, a child, traces through the
  // exported SHELLOPTS with bash's default PS4 (its lines carry no stamp).
  const script = `PS4='${PROFILED_PS4.replaceAll("$", "\\$")}'; set -x; export SHELLOPTS; source /opt/podplane/bin/configure.sh`;
  const result = await ssh.run(`sudo -n bash -c "${script}" 2>&1 >/dev/null; echo "exit $?"`, { timeoutMs: STEP_TIMEOUT_MS });
  await writeFile(file, result.stdout);
}

export async function rerunConfigure(ssh: SshClient): Promise<ConfigureRerun> {
  return parseRerun(ensureOk(await ssh.run(RERUN_CONFIGURE, { timeoutMs: STEP_TIMEOUT_MS }), "configure.sh with unchanged inputs").stdout);
}
