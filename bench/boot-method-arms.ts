// One boot of each arm of the boot-method benchmark. The baked arms (firmware/GRUB, direct kernel
// boot) take the steps of boot.bench.ts's baked arm with its helpers: Podplane-format
// user-data.env (provider local), the registration nonce and listeners, cloud-init and systemd
// done, one Nstance delivery, every applying service active, the boot test's services-active
// check. The plain base boots a user-data that does nothing, so only cloud-init's own path is
// timed. Any failed step is an error naming the arm, the run and the step, never a time.
import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import type { CheckContext } from "../pipeline/boot/checks.js";
import { guestForward, startCountingListener } from "../pipeline/boot/listeners.js";
import type { DirectBoot } from "../pipeline/boot/qemu.js";
import { startTestVm, type TestVm } from "../pipeline/boot/session.js";
import { scaled, scaleSsh, type TimeScale } from "../pipeline/boot/speed.js";
import { waitForSsh, type SshClient } from "../pipeline/boot/ssh.js";
import { NSTANCE_GUEST } from "../pipeline/boot/test-env.js";
import type { Arch } from "../pipeline/manifest/schema.js";
import type { Accelerator } from "../pipeline/packer/accelerator.js";
import type { BenchInputs } from "./boot-inputs.js";
import { checkActiveServices, collectTimings, deliver, waitActive, waitForFirstBoot } from "./boot-guest.js";
import { bootPhases, type BootPhases } from "./boot-phases.js";
import { basePhases, type BakedMethodArm, type BasePhases, type MethodArm } from "./boot-method-phases.js";

/** boot.bench.ts's bound for ssh, before scaling for a slower guest. */
const SSH_TIMEOUT_MS = 600_000;

/**
 * The plain base's user-data: a script (like Podplane's, so cloud-init runs the same scripts-user
 * module and logs the same "Running command" line the baked arms' user-data start is read from)
 * that does nothing.
 */
export const BASE_USER_DATA = "#!/bin/sh\n# The plain base's boot: cloud-init's own path only; this script does nothing.\nexit 0\n";

export interface MethodContext {
  work: string;
  arch: Arch;
  accel: Accelerator;
  scale: TimeScale;
  inputs: BenchInputs;
  /** Applying services (no .service suffix). */
  units: string[];
  slimUserData: string;
  checkContext: CheckContext;
  log: (line: string) => void;
}

export interface BaseBoot {
  arm: "base";
  run: number;
  image: string;
  phases: BasePhases;
  systemdAnalyze: string;
  serialLog: string;
}

export interface BakedBoot {
  arm: BakedMethodArm;
  run: number;
  image: string;
  phases: BootPhases;
  systemdAnalyze: string;
  serialLog: string;
}

type Step = <T>(what: string, work: () => Promise<T>) => Promise<T>;

/** Starts the VM in <work>/<arm>-<run>/, hands the steps a scaled ssh client, always stops it. */
async function withVm<T>(
  ctx: MethodContext,
  arm: MethodArm,
  run: number,
  vmOptions: { image: string; userData: string; guestForwards?: string[]; directBoot?: DirectBoot | undefined },
  body: (session: TestVm, ssh: SshClient, step: Step) => Promise<T>,
): Promise<T> {
  const label = `${arm} run ${run}`;
  const dir = path.join(ctx.work, `${arm}-${run}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  ctx.log(`${label}: booting ${vmOptions.image}${vmOptions.directBoot ? " by direct kernel boot" : ""}`);
  const session = await startTestVm({ ...vmOptions, workDir: dir, accel: ctx.accel, arch: ctx.arch, hostname: `bench-${arm}` }).catch((error: unknown) => {
    throw new Error(`${label}: starting the VM: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  });
  const step: Step = async (what, work) => {
    try {
      return await work();
    } catch (error) {
      throw new Error(`${label}: ${what}: ${error instanceof Error ? error.message : String(error)} (serial log ${session.logPath})`, { cause: error });
    }
  };
  try {
    const ssh = scaleSsh(session.ssh, ctx.scale);
    const { vm } = session;
    await step("waiting for ssh", () => waitForSsh(ssh, { timeoutMs: scaled(SSH_TIMEOUT_MS, ctx.scale), alive: () => vm.isRunning(), describeDeath: () => vm.exited }));
    return await body(session, ssh, step);
  } finally {
    await session.close();
  }
}

export async function measureBase(ctx: MethodContext, image: string, run: number): Promise<BaseBoot> {
  return withVm(ctx, "base", run, { image, userData: BASE_USER_DATA }, async (session, ssh, step) => {
    await step("cloud-init and systemd done", () => waitForFirstBoot(ssh, ctx.scale.factor));
    // boot-timings.py wants at least one unit; cloud-final is the stage whose end is measured.
    const timings = await step("collecting timings", () => collectTimings(ssh, ["cloud-final.service"]));
    const phases = await step("boot phases", () => Promise.resolve().then(() => basePhases(session.vm.serial, timings)));
    ctx.log(`base run ${run}: user-data at ${phases.toUserData.toFixed(1)} s, cloud-init done at ${phases.toCloudInitDone.toFixed(1)} s`);
    return { arm: "base", run, image, phases, systemdAnalyze: timings.systemdAnalyze, serialLog: session.logPath };
  });
}

export async function measureBaked(ctx: MethodContext, arm: BakedMethodArm, image: string, run: number, directBoot: DirectBoot | undefined): Promise<BakedBoot> {
  const registration = await startCountingListener();
  const agent = await startCountingListener();
  const guestForwards = [guestForward(NSTANCE_GUEST.host, NSTANCE_GUEST.registrationPort, registration.port), guestForward(NSTANCE_GUEST.host, NSTANCE_GUEST.agentPort, agent.port)];
  const units = ctx.units.map((u) => `${u}.service`);
  try {
    return await withVm(ctx, arm, run, { image, userData: ctx.slimUserData, guestForwards, directBoot }, async (session, ssh, step) => {
      await step("first boot", () => waitForFirstBoot(ssh, ctx.scale.factor));
      if (registration.connections() === 0) throw new Error(`${arm} run ${run}: the user-data finished without reaching the registration listener`);
      ctx.log(`${arm} run ${run}: user-data done; delivering ${ctx.inputs.files.length} files`);
      await step("delivery", () => deliver(ssh, ctx.inputs.files));
      await step("services", () => waitActive(ssh, units, ctx.scale.factor));
      const timings = await step("collecting timings", () => collectTimings(ssh, units));
      const phases = await step("boot phases", () => Promise.resolve().then(() => bootPhases(session.vm.serial, timings, units)));
      await step("services-active check", () => checkActiveServices(ssh, ctx.checkContext));
      ctx.log(`${arm} run ${run}: kernel at ${phases.kernelAt.toFixed(1)} s, user-data at ${phases.toUserData.toFixed(1)} s, user-data start → all active ${phases.userDataToActive.toFixed(1)} s, VM start → all active ${phases.whole.toFixed(1)} s`);
      return { arm, run, image, phases, systemdAnalyze: timings.systemdAnalyze, serialLog: session.logPath };
    });
  } finally {
    await Promise.all([registration.close(), agent.close()]);
  }
}
