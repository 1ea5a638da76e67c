// Boot phases of a benchmark VM, in host seconds since QEMU started. Guest events are in
// CLOCK_MONOTONIC (boot-timings.py); the serial console's printk-stamped lines tie that clock to
// the host's: offset = min(host seconds − kernel seconds) over those lines.
//
// Since Nstance delivers the certificates, "all services active" needs a delivery: the benchmark
// sends one once the user-data has finished. The time between the user-data's end and that
// delivery is the benchmark's own (ssh, cloud-init status), not the image's, so the headline
// figure leaves it out: (user-data start → first configure done) + (delivery → all active).
import type { SerialLine } from "../pipeline/boot/qemu.js";
import type { UnitTimings } from "./boot-units.js";
import { configureRuns, type ConfigureRun } from "./configure-timings.js";

export interface GuestTimings extends UnitTimings {
  events: Record<string, number>;
  /** Journal lines carrying configure.sh's timings, in guest monotonic seconds. */
  configureLines: Array<{ at: number; text: string }>;
  units: Record<string, { state: string | null; at: number; execAt?: number; restarts?: number }>;
  systemdAnalyze: string;
}

/** The guest event the benchmark logs (logger -t podplane-bench) just before write-files.last. */
export const DELIVERY_EVENT = "bench:delivery";

export interface BootPhases {
  /** Host seconds from QEMU start to the kernel's monotonic 0 (firmware, bootloader). */
  kernelAt: number;
  userDataStart: number;
  /** The first configure.sh run's timings line (it ends with the service starts). */
  configureDone: number;
  delivered: number;
  allActive: number;
  /** VM start → user-data start. */
  toUserData: number;
  /** User-data start → first configure done. */
  userDataToConfigure: number;
  /** Delivery → every applying service active. */
  deliveryToActive: number;
  /** userDataToConfigure + deliveryToActive: user-data start → all services active, less the wait for the delivery. */
  userDataToActive: number;
  /** toUserData + userDataToActive. */
  whole: number;
  firstConfigure: ConfigureRun;
  deliveryConfigure: ConfigureRun;
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
  ["user-data started", /\[userdata\] Podplane user-data/],
  ["user-data: nstance-server reached", /\[userdata\] Connection successful/],
  ["bootstrap: detected", /podplane-bootstrap: detected/],
  ["first configure done (timings line)", /podplane-configure: timings:/],
  ["user-data completed", /\[userdata\] Podplane user-data has completed/],
  ["cloud-init finished", /Cloud-init v\. .* finished at/],
];

/** Marks only lines before the kernel's first printk line can show (a direct kernel boot has no GRUB; "grub-common.service" later is not one). */
const BEFORE_KERNEL = new Set(["firmware (first serial output)", "bootloader (GRUB)"]);

export function serialMarks(serial: readonly SerialLine[]): BootPhases["serialMarks"] {
  const marks: BootPhases["serialMarks"] = [];
  const kernelIndex = serial.findIndex((l) => PRINTK.test(l.text));
  const beforeKernel = kernelIndex < 0 ? serial : serial.slice(0, kernelIndex);
  for (const [phase, pattern] of SERIAL_PHASES) {
    const line = (BEFORE_KERNEL.has(phase) ? beforeKernel : serial).find((l) => pattern.test(l.text));
    if (line) marks.push({ phase, seconds: line.seconds, line: line.text.slice(0, 120) });
  }
  return marks;
}

/**
 * The phases of one boot. `units` are the services that must be active (name.service); any that
 * is not, a missing event or configure run, or services all active before the delivery, is an
 * error: a failed boot never becomes a time.
 */
export function bootPhases(serial: readonly SerialLine[], timings: GuestTimings, units: readonly string[]): BootPhases {
  const offset = kernelOffset(serial);
  const at = (name: string): number => {
    const mono = timings.events[name];
    if (mono === undefined) throw new Error(`the guest recorded no ${name} event`);
    return offset + mono;
  };
  if (units.length === 0) throw new Error("no services to wait for");
  const inactive = units.filter((u) => timings.units[u]?.state !== "active");
  if (inactive.length > 0) throw new Error(`not active after the delivery: ${inactive.map((u) => `${u} (${timings.units[u]?.state ?? "unknown"})`).join(", ")}`);
  const userDataStart = at("userScriptStart");
  const delivered = at(DELIVERY_EVENT);
  // Both copies of each line: the journal's (monotonic) and the serial console's (host seconds).
  const runs = configureRuns([
    ...timings.configureLines.map((l) => ({ at: offset + l.at, text: l.text })),
    ...serial.map((l) => ({ at: l.seconds, text: l.text })),
  ]);
  const firstConfigure = runs.find((r) => r.at >= userDataStart);
  if (!firstConfigure || firstConfigure.at > delivered) throw new Error("no configure.sh timings line between the user-data's start and the delivery: the first configure did not finish");
  const deliveryConfigure = runs.find((r) => r.at > delivered);
  if (!deliveryConfigure) throw new Error("no configure.sh timings line after the delivery: the watcher's configure did not finish");
  const allActive = offset + Math.max(...units.map((u) => timings.units[u]?.at ?? 0));
  if (allActive <= delivered) throw new Error(`every service was active before the delivery (last at ${allActive.toFixed(1)} s, delivery at ${delivered.toFixed(1)} s): nothing waited for the certificates`);
  const userDataToConfigure = firstConfigure.at - userDataStart;
  const deliveryToActive = allActive - delivered;
  return {
    kernelAt: offset,
    userDataStart,
    configureDone: firstConfigure.at,
    delivered,
    allActive,
    toUserData: userDataStart,
    userDataToConfigure,
    deliveryToActive,
    userDataToActive: userDataToConfigure + deliveryToActive,
    whole: userDataStart + userDataToConfigure + deliveryToActive,
    firstConfigure,
    deliveryConfigure,
    events: Object.fromEntries(Object.entries(timings.events).map(([k, v]) => [k, offset + v])),
    serialMarks: serialMarks(serial),
  };
}
