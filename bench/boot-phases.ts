// Boot phases of a benchmark VM, in host seconds since QEMU started. Guest events are in
// CLOCK_MONOTONIC (boot-timings.py); the serial console's printk-stamped lines tie that clock to
// the host's: offset = min(host seconds − kernel seconds) over those lines.
import type { SerialLine } from "../pipeline/boot/qemu.js";

export interface GuestTimings {
  events: Record<string, number>;
  units: Record<string, { state: string | null; at: number }>;
  systemdAnalyze: string;
}

export interface BootPhases {
  /** Host seconds from QEMU start to the kernel's monotonic 0 (firmware, bootloader). */
  kernelAt: number;
  userDataStart: number;
  configureDone: number;
  allActive: number;
  /** VM start → user-data start, user-data start → configure done, user-data start → all services active. */
  toUserData: number;
  userDataToConfigure: number;
  userDataToActive: number;
  whole: number;
  /** Guest events in host seconds since VM start. */
  events: Record<string, number>;
  /** First serial line of each boot phase, host seconds since VM start. */
  serialMarks: Array<{ phase: string; seconds: number; line: string }>;
}

const PRINTK = /^\[\s*(\d+\.\d+)\]/;

/** Host seconds at which the guest's monotonic clock read 0. */
export function kernelOffset(serial: readonly SerialLine[]): number {
  let best = Number.POSITIVE_INFINITY;
  for (const line of serial) {
    const match = PRINTK.exec(line.text);
    if (match) best = Math.min(best, line.seconds - Number(match[1]));
  }
  if (!Number.isFinite(best)) throw new Error("no printk-stamped line on the serial console: is console=ttyS0 on the kernel command line?");
  return best;
}

export const SERIAL_PHASES: ReadonlyArray<readonly [string, RegExp]> = [
  ["firmware (first serial output)", /\S/],
  ["bootloader (GRUB)", /GRUB|Booting .*Linux/i],
  ["kernel", /Linux version/],
  ["systemd", /systemd\[1\]|Welcome to .*Debian/],
  ["cloud-init init-local", /running 'init-local'/],
  ["cloud-init init (network)", /running 'init' /],
  ["SSH host keys", /SSH host key|Generating public\/private|BEGIN SSH HOST KEY/],
  ["cloud-init modules:final", /running 'modules:final'/],
  ["user script: bootstrap detected", /podplane-bootstrap: detected/],
  ["user script: mutable.env seeded", /podplane-bootstrap: seeded/],
  ["user script: configure done", /podplane-restart:/],
  ["services started", /Started .*kubelet\.service|Started .*kube-apiserver\.service/],
  ["cloud-init finished", /Cloud-init v\. .* finished at/],
];

export function serialMarks(serial: readonly SerialLine[]): BootPhases["serialMarks"] {
  const marks: BootPhases["serialMarks"] = [];
  for (const [phase, pattern] of SERIAL_PHASES) {
    const line = serial.find((l) => pattern.test(l.text));
    if (line) marks.push({ phase, seconds: line.seconds, line: line.text.slice(0, 120) });
  }
  return marks;
}

export function bootPhases(serial: readonly SerialLine[], timings: GuestTimings, services: readonly string[]): BootPhases {
  const offset = kernelOffset(serial);
  const at = (name: string): number => {
    const mono = timings.events[name];
    if (mono === undefined) throw new Error(`the guest recorded no ${name} event`);
    return offset + mono;
  };
  const inactive = services.filter((s) => timings.units[s]?.state !== "active");
  if (inactive.length > 0) throw new Error(`not active at the end of the boot: ${inactive.join(", ")}`);
  const userDataStart = at("userScriptStart");
  const configureDone = at("configureDone");
  const allActive = offset + Math.max(...services.map((s) => timings.units[s]?.at ?? 0));
  return {
    kernelAt: offset,
    userDataStart,
    configureDone,
    allActive,
    toUserData: userDataStart,
    userDataToConfigure: configureDone - userDataStart,
    userDataToActive: allActive - userDataStart,
    whole: allActive,
    events: Object.fromEntries(Object.entries(timings.events).map(([k, v]) => [k, offset + v])),
    serialMarks: serialMarks(serial),
  };
}
