// The host checks of a build, before any work: every arch that will run a VM (a qemu bake or
// boot test) needs its QEMU and firmware, and every arch whose debootstrap base must still be
// built on a foreign host needs qemu-user through binfmt_misc. All problems in one usage error.
import { foreignBaseProblems, type ForeignHost } from "../base/foreign.js";
import { UsageError } from "../errors/index.js";
import type { Arch } from "../manifest/schema.js";
import { emulatorProblems, type EmulatorHost } from "./emulator.js";

export interface PreflightEntry {
  arch: Arch;
  target: string;
  action: string;
  /** The entry's debootstrap base is not built yet (the plan's `base.digest === null`). */
  buildsBase: boolean;
}

export async function hostProblems(entries: readonly PreflightEntry[], options: EmulatorHost & ForeignHost = {}): Promise<string[]> {
  const working = entries.filter((e) => e.action !== "skip" && e.target === "qemu");
  const problems: string[] = [];
  for (const arch of new Set(working.filter((e) => e.buildsBase).map((e) => e.arch))) {
    problems.push(...(await foreignBaseProblems(arch, options)).map((p) => `${arch} base: ${p}`));
  }
  for (const arch of new Set(working.map((e) => e.arch))) {
    problems.push(...(await emulatorProblems(arch, options)).map((p) => `${arch} VM: ${p}`));
  }
  return problems;
}

/** Throws one usage error (exit 2) listing every missing host tool; nothing has run yet. */
export async function assertHostReady(entries: readonly PreflightEntry[], options: EmulatorHost & ForeignHost = {}): Promise<void> {
  const problems = await hostProblems(entries, options);
  if (problems.length > 0) throw new UsageError(`this host cannot run the build:\n  ${problems.join("\n  ")}`, "EHOSTTOOLS");
}
