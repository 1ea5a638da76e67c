// The figures of the boot-method benchmark (bench/boot-method.ts), in host seconds since QEMU
// started, as boot.bench.ts takes them: guest events in CLOCK_MONOTONIC (boot-timings.py) tied to
// the host clock by the printk stamps on the serial console (kernelOffset).
//
// The plain base runs a user-data that does nothing, so "VM start → cloud-init done" is what a
// plain boot costs here; the baked arms' figures come from bootPhases (boot-phases.ts) unchanged.
import type { SerialLine } from "../pipeline/boot/qemu.js";
import { kernelOffset, serialMarks, type BootPhases, type GuestTimings } from "./boot-phases.js";

export type MethodArm = "base" | "grub" | "direct";
export type BakedMethodArm = Exclude<MethodArm, "base">;

const ARMS: readonly MethodArm[] = ["base", "grub", "direct"];

/** Run r boots the arms rotated by r − 1, so no arm always goes first (into a cold page cache) or last. */
export function armOrder(run: number): MethodArm[] {
  if (!Number.isInteger(run) || run < 1) throw new Error(`a run number starts at 1, found ${run}`);
  const shift = (run - 1) % ARMS.length;
  return [...ARMS.slice(shift), ...ARMS.slice(0, shift)];
}

export interface BasePhases {
  /** Host seconds from QEMU start to the kernel's monotonic 0 (firmware, boot loader). */
  kernelAt: number;
  /** VM start → the (empty) user script starts: the same point the baked arms' user-data starts at. */
  toUserData: number;
  /** VM start → cloud-init's final stage finished (cloud-init done). */
  toCloudInitDone: number;
  serialMarks: BootPhases["serialMarks"];
}

/** The base's phases; a missing event or one out of order is an error, never a time. */
export function basePhases(serial: readonly SerialLine[], timings: Pick<GuestTimings, "events">): BasePhases {
  const offset = kernelOffset(serial);
  const at = (name: string): number => {
    const mono = timings.events[name];
    if (mono === undefined) throw new Error(`the guest recorded no ${name} event in cloud-init.log`);
    return offset + mono;
  };
  const toUserData = at("userScriptStart");
  const toCloudInitDone = at("cloudInitDone");
  if (toCloudInitDone < toUserData) throw new Error(`cloud-init finished (${toCloudInitDone.toFixed(1)} s) before the user script started (${toUserData.toFixed(1)} s): not this boot's log?`);
  return { kernelAt: offset, toUserData, toCloudInitDone, serialMarks: serialMarks(serial) };
}

/** What the report compares of one baked boot (a subset of BootPhases). */
export interface BakedFigures {
  kernelAt: number;
  toUserData: number;
  userDataToActive: number;
  whole: number;
  serialMarks: BootPhases["serialMarks"];
}

export function bakedFigures(phases: BootPhases): BakedFigures {
  return { kernelAt: phases.kernelAt, toUserData: phases.toUserData, userDataToActive: phases.userDataToActive, whole: phases.whole, serialMarks: phases.serialMarks };
}

export interface MethodRun {
  run: number;
  base: BasePhases;
  grub: BakedFigures;
  direct: BakedFigures;
  /** The host's 1-minute load average as each boot started and ended: on a shared host it moves the figures more than anything else. */
  load?: Record<MethodArm, { start: number; end: number }>;
}
