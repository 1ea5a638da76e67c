// Delivering to the test VM as Nstance and nstance-agent would: files written into
// /opt/nstance-agent/keys/ and recv/ owned by nstance-agent (keys first, as the agent generates
// them before the certificates arrive), then recv/write-files.last touched; then wait until
// nstance-recv-watch has run and systemd has no jobs left (restarts done). Hostile deliveries
// are set up on the guest (symlinks, nested names, oversized files) and undone after the watcher
// ran, so each one is judged on its own.
import { createHash } from "node:crypto";
import { GUEST } from "./checks.js";
import type { DeliveryFile } from "./delivery.js";

const quote = (value: string): string => `'${value.replace(/'/g, `'\\''`)}'`;

/** Flat, harmless names only reach the shell: the hostile ones are written by the cases below, never from input. */
function safeName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) || name.includes("..")) throw new Error(`refusing to deliver ${JSON.stringify(name)}: not a flat file name`);
  return name;
}

export function sha256(content: Buffer | string): string {
  return createHash("sha256").update(content).digest("hex");
}

/** "recv/<name>" / "keys/<name>" → sha256, for the checks. */
export function digestsOf(files: readonly DeliveryFile[]): Record<string, string> {
  return Object.fromEntries(files.map((f) => [`${f.from}/${f.name}`, sha256(f.content)]));
}

function installLines(files: readonly DeliveryFile[]): string[] {
  const ordered = [...files.filter((f) => f.from === "keys"), ...files.filter((f) => f.from === "recv")];
  return ordered.flatMap((f) => {
    const dir = f.from === "keys" ? GUEST.keysDir : GUEST.recvDir;
    return [
      `printf '%s' ${quote(f.content.toString("base64"))} | base64 -d >"$stage/file"`,
      `install -m 0600 -o nstance-agent -g nstance-agent "$stage/file" ${dir}/${safeName(f.name)}`,
    ];
  });
}

export interface DeliveryStep {
  files: readonly DeliveryFile[];
  /** Guest shell lines run after the files are in place, before write-files.last (hostile set-ups). */
  setup?: readonly string[];
  /** Guest shell lines run after the watcher finished (undo a hostile set-up). */
  cleanup?: readonly string[];
}

/** How long the guest waits for the watcher to finish, then for systemd's queued jobs (the
 * restarts it asked for); the caller's ssh timeout is DELIVERY_SSH_TIMEOUT_MS, above both. */
export const WATCHER_DEADLINE_S = 240;
export const JOBS_DEADLINE_S = 120;
export const DELIVERY_SSH_TIMEOUT_MS = (WATCHER_DEADLINE_S + JOBS_DEADLINE_S + 60) * 1000;

/** The guest script (run as root) for one delivery; prints the watcher's result and exits non-zero when it did not run. */
export function deliveryScript(step: DeliveryStep): string {
  return [
    "set -eu",
    "unit=nstance-recv-watch.service",
    'before=$(systemctl show -p InvocationID --value "$unit")',
    'stage=$(mktemp -d /var/tmp/podplane-delivery.XXXXXX)',
    `install -d -m 0700 -o nstance-agent -g nstance-agent ${GUEST.recvDir} ${GUEST.keysDir}`,
    ...installLines(step.files),
    ...(step.setup ?? []),
    `runuser -u nstance-agent -- sh -c 'date +%s.%N >${GUEST.recvDir}/write-files.last'`,
    // First a wait that forks nothing: under TCG every poll's processes take the one emulated CPU
    // from the watcher being waited for (and timed, by the boot benchmark). The watcher removes
    // write-files.last first thing and its cgroup goes when it has finished; the systemctl loop
    // below then usually decides on its first round.
    "exec {tick}<> <(:)",
    `deadline=$((SECONDS + ${WATCHER_DEADLINE_S}))`,
    `while [ -e ${GUEST.recvDir}/write-files.last ] && [ "$SECONDS" -lt "$deadline" ]; do read -r -t 0.2 -u "$tick" _ || true; done`,
    'while [ -d "/sys/fs/cgroup/system.slice/$unit" ] && [ "$SECONDS" -lt "$deadline" ]; do read -r -t 0.2 -u "$tick" _ || true; done',
    "ran=",
    // Deadlines by the clock (the one above), not by a count of polls: under TCG one poll (two
    // systemctl calls) takes most of a second, so a count would overrun the caller's ssh timeout.
    'while [ "$SECONDS" -lt "$deadline" ]; do',
    '  now=$(systemctl show -p InvocationID --value "$unit")',
    '  state=$(systemctl show -p ActiveState --value "$unit")',
    '  if [ "$now" != "$before" ] && [ "$state" != activating ]; then ran=$state; break; fi',
    "  sleep 0.5",
    "done",
    // Restarts the watcher queued: wait until systemd has no job left (bounded).
    `deadline=$((SECONDS + ${JOBS_DEADLINE_S}))`,
    'while [ "$SECONDS" -lt "$deadline" ] && [ -n "$(systemctl list-jobs --no-legend)" ]; do sleep 0.5; done',
    ...(step.cleanup ?? []),
    'rm -rf "$stage"',
    `if [ -z "$ran" ]; then echo "the watcher did not run within ${WATCHER_DEADLINE_S} s"; exit 1; fi`,
    'echo "watcher ran: $ran"',
    "",
  ].join("\n");
}

/** Puts back a recv file (without touching write-files.last) after a hostile case replaced it. */
function restoreLines(name: string): string[] {
  const file = `${GUEST.recvDir}/${safeName(name)}`;
  return [`rm -rf ${file}`, `if [ -e "$stage/saved" ]; then mv "$stage/saved" ${file}; fi`];
}

function saveLines(name: string): string[] {
  const file = `${GUEST.recvDir}/${safeName(name)}`;
  return [`if [ -e ${file} ] && [ ! -L ${file} ]; then cp -p ${file} "$stage/saved"; fi`, `rm -f ${file}`];
}

export interface HostileCase {
  label: string;
  step: DeliveryStep;
}

/**
 * Hostile deliveries. Each also carries a valid mutable.env change (`validChange`), so a
 * half-applied delivery shows; `previousMutable` is put back afterwards, as is any replaced file.
 */
export function hostileCases(options: { target: string; pem: string; validChange: string; previousMutable: string }): HostileCase[] {
  const target = safeName(options.target);
  const mutable = (content: string): DeliveryFile => ({ from: "recv", name: "mutable.env", content: Buffer.from(content) });
  const restoreMutable = installLines([mutable(options.previousMutable)]);
  const pem = quote(options.pem);
  const make = (label: string, setup: string[], cleanup: string[]): HostileCase => ({
    label,
    step: { files: [mutable(options.validChange)], setup, cleanup: [...cleanup, ...restoreMutable] },
  });
  return [
    make("unknown name", [`printf '%s\\n' ${pem} >${GUEST.recvDir}/evil.crt`, `chown nstance-agent: ${GUEST.recvDir}/evil.crt`], [`rm -f ${GUEST.recvDir}/evil.crt`]),
    make("'..' in a name", [`printf '%s\\n' ${pem} >${GUEST.recvDir}/..${target}`, `chown nstance-agent: ${GUEST.recvDir}/..${target}`], [`rm -f ${GUEST.recvDir}/..${target}`]),
    make("'/' in a name (nested file)", [`install -d -o nstance-agent -g nstance-agent ${GUEST.recvDir}/nested`, `printf '%s\\n' ${pem} >${GUEST.recvDir}/nested/${target}`], [`rm -rf ${GUEST.recvDir}/nested`]),
    make("symlink", [...saveLines(target), `ln -s /etc/shadow ${GUEST.recvDir}/${target}`], restoreLines(target)),
    make("non-PEM certificate", [...saveLines(target), `printf 'not a certificate\\n' >${GUEST.recvDir}/${target}`, `chown nstance-agent: ${GUEST.recvDir}/${target}`], restoreLines(target)),
    make("oversized certificate", [...saveLines(target), `{ printf '%s\\n' ${pem}; head -c 16777216 /dev/zero | tr '\\0' A; } >${GUEST.recvDir}/${target}`, `chown nstance-agent: ${GUEST.recvDir}/${target}`], restoreLines(target)),
  ];
}
