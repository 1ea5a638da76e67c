// What the boot-method benchmark prints: the set-up of this very run (never fixed text), a
// one-row-per-arch summary table that BENCHMARKS.md stacks (amd64 and arm64 rows under one
// header), the per-phase figures of every arm and the ratios, each with both summaries of
// bench/stats.ts. The ratios say what Podplane's services add to a plain boot: each baked arm's
// VM start → all services active over the plain base's VM start → cloud-init done.
import type { MethodArm, MethodRun } from "./boot-method-phases.js";
import { compareRuns, median, type Comparison } from "./stats.js";

export interface MethodSetup {
  date: string;
  commit: string;
  arch: string;
  kind: string;
  provider: string;
  runs: number;
  /** The order of the arms in each run, e.g. "base, grub, direct, rotated by one every run". */
  order: string;
  qemu: { accel: string; cpu: string; cpus: string; memoryMiB: string; machine: string };
  host: { cores: number; loadBefore: readonly number[]; loadAfter?: readonly number[] };
  base: { path: string; how: string };
  baked: { path: string; how: string };
  bootRecord: { from: string; kernel: string; initrd: string; cmdline: string };
  timeScale: { factor: number; reason: string };
  services: readonly string[];
  deliveryFiles: number;
}

export interface MethodRatios {
  /** GRUB arm's VM start → all services active / base's VM start → cloud-init done. */
  grubOverBase: Comparison;
  directOverBase: Comparison;
  /** direct / GRUB, VM start → all services active. */
  directOverGrub: Comparison;
}

/** Run i of each arm paired with run i of the others (taken in the same round, under the same load). */
export function methodRatios(runs: readonly MethodRun[]): MethodRatios {
  if (runs.length === 0) throw new Error("no complete run to take ratios of");
  const base = runs.map((r) => r.base.toCloudInitDone);
  const grub = runs.map((r) => r.grub.whole);
  const direct = runs.map((r) => r.direct.whole);
  return { grubOverBase: compareRuns(grub, base), directOverBase: compareRuns(direct, base), directOverGrub: compareRuns(direct, grub) };
}

/** "2.31×" with one run said to be one, else the ratio of medians and the median of per-run ratios. */
export function formatRatio(c: Comparison): string {
  if (c.ratios.length === 1) return `${c.ratioOfMedians.toFixed(2)}× (one run)`;
  return `${c.ratioOfMedians.toFixed(2)}× (per-run median ${c.medianOfRatios.toFixed(2)}×)`;
}

const s1 = (n: number): string => n.toFixed(1);
const loads = (l: readonly number[]): string => l.map((x) => x.toFixed(1)).join(" ");
const cell = (values: readonly number[]): string => s1(median(values));
const runsLabel = (n: number): string => (n === 1 ? "one run" : `median of ${n} runs`);

export const SUMMARY_HEADER: readonly string[] = [
  "| arch, kind (runs) | plain base: VM start → cloud-init done | GRUB: VM start → user-data start | GRUB: user-data start → all services active | GRUB: VM start → all services active | direct: VM start → user-data start | direct: user-data start → all services active | direct: VM start → all services active | GRUB / base | direct / base | direct / GRUB |",
  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
];

/** One row of the summary table: seconds (medians) and the three ratios. */
export function summaryRow(arch: string, kind: string, runs: readonly MethodRun[]): string {
  const r = methodRatios(runs);
  const pick = (f: (run: MethodRun) => number): string => cell(runs.map(f));
  return `| ${arch}, ${kind} (${runsLabel(runs.length)}) | ${pick((x) => x.base.toCloudInitDone)} | ${pick((x) => x.grub.toUserData)} | ${pick((x) => x.grub.userDataToActive)} | ${pick((x) => x.grub.whole)} | ${pick((x) => x.direct.toUserData)} | ${pick((x) => x.direct.userDataToActive)} | ${pick((x) => x.direct.whole)} | ${formatRatio(r.grubOverBase)} | ${formatRatio(r.directOverBase)} | ${formatRatio(r.directOverGrub)} |`;
}

/** A row that says plainly it holds no figure (e.g. an arch not yet measured). */
export function placeholderRow(label: string, note: string): string {
  const columns = SUMMARY_HEADER[0]?.split("|").length ?? 0;
  // The header line splits into its cells plus an empty string at each end.
  return `| ${label} | **${note}** |${" – |".repeat(Math.max(0, columns - 4))}`;
}

interface PhaseRow {
  name: string;
  base?: (r: MethodRun) => number;
  baked?: (f: MethodRun["grub"]) => number;
}

const PHASE_ROWS: readonly PhaseRow[] = [
  { name: "VM start → kernel start (firmware + boot loader; printk 0)", base: (r) => r.base.kernelAt, baked: (f) => f.kernelAt },
  { name: "VM start → user-data start", base: (r) => r.base.toUserData, baked: (f) => f.toUserData },
  { name: "user-data start → all services active (first configure + delivery → all active)", baked: (f) => f.userDataToActive },
  { name: "**VM start → all services active** (less the wait for the delivery)", baked: (f) => f.whole },
  { name: "**VM start → cloud-init done**", base: (r) => r.base.toCloudInitDone },
];

/** Median (and every run's value when there are several) of one arm's figure. */
function armCell(runs: readonly MethodRun[], pick: ((r: MethodRun) => number) | undefined): string {
  if (!pick) return "–";
  const values = runs.map(pick);
  return values.length === 1 ? s1(values[0] as number) : `${cell(values)} (${values.map(s1).join(", ")})`;
}

export function phaseTable(runs: readonly MethodRun[]): string[] {
  return [
    `| phase (s, host time since QEMU start; ${runsLabel(runs.length)}) | plain base | baked, firmware/GRUB | baked, direct kernel boot |`,
    "|---|---:|---:|---:|",
    ...PHASE_ROWS.map((row) => {
      const baked = row.baked;
      return `| ${row.name} | ${armCell(runs, row.base)} | ${armCell(runs, baked && ((r) => baked(r.grub)))} | ${armCell(runs, baked && ((r) => baked(r.direct)))} |`;
    }),
  ];
}

/** Serial-console marks of one run, the arms side by side (where each boot spends its time). */
export function marksTable(run: MethodRun): string[] {
  const phases = [...new Set([...run.base.serialMarks, ...run.grub.serialMarks, ...run.direct.serialMarks].map((m) => m.phase))];
  const at = (marks: MethodRun["base"]["serialMarks"], phase: string): string => {
    const mark = marks.find((m) => m.phase === phase);
    return mark ? s1(mark.seconds) : "–";
  };
  return [
    `Serial-console marks of run ${run.run} (host seconds since QEMU start; the first line matching each phase):`,
    "",
    "| phase | plain base | GRUB | direct |",
    "|---|---:|---:|---:|",
    ...phases.map((p) => `| ${p} | ${at(run.base.serialMarks, p)} | ${at(run.grub.serialMarks, p)} | ${at(run.direct.serialMarks, p)} |`),
  ];
}

export function setupText(s: MethodSetup): string {
  return [
    `${s.date}, at ${s.commit}. ${s.kind} ${s.arch}, provider ${s.provider}; ${s.runs} run${s.runs === 1 ? "" : "s"} of three arms (${s.order}).`,
    `VMs: QEMU ${s.qemu.machine ? `${s.qemu.machine}, ` : ""}-accel ${s.qemu.accel}, -cpu ${s.qemu.cpu}, -smp ${s.qemu.cpus}, -m ${s.qemu.memoryMiB}; timeouts ×${s.timeScale.factor} (${s.timeScale.reason}); host: ${s.host.cores} cores, load average ${loads(s.host.loadBefore)} at the start${s.host.loadAfter ? `, ${loads(s.host.loadAfter)} at the end` : ""}.`,
    `Plain base: ${s.base.path} (${s.base.how}); a user-data script that does nothing; VM start → cloud-init done.`,
    `Baked: ${s.baked.path} (${s.baked.how}); the slim user-data, Podplane-format user-data.env, the registration nonce and listeners, then one Nstance delivery (${s.deliveryFiles} files); services that must be active: ${s.services.join(", ")}.`,
    `GRUB arm: the image's firmware and boot loader. Direct arm: -kernel ${s.bootRecord.kernel} -initrd ${s.bootRecord.initrd} -append "${s.bootRecord.cmdline}", from ${s.bootRecord.from}, extracted and checked by digest before any boot.`,
  ].join("\n");
}

const ARM_NAMES: Record<MethodArm, string> = { base: "plain base", grub: "GRUB", direct: "direct" };

export function loadLine(load: NonNullable<MethodRun["load"]>): string {
  return (Object.keys(ARM_NAMES) as MethodArm[]).map((arm) => `${ARM_NAMES[arm]} ${load[arm].start.toFixed(1)} → ${load[arm].end.toFixed(1)}`).join(", ");
}

export function methodMarkdown(setup: MethodSetup, runs: readonly MethodRun[]): string {
  const r = methodRatios(runs);
  const first = runs[0];
  return [
    setupText(setup),
    "",
    ...SUMMARY_HEADER,
    summaryRow(setup.arch, setup.kind, runs),
    "",
    ...phaseTable(runs),
    "",
    `Ratios (${runsLabel(runs.length)}; ratio of medians, and with several runs the median of per-run ratios):`,
    `- baked by firmware/GRUB, VM start → all services active, over the plain base's VM start → cloud-init done: ${formatRatio(r.grubOverBase)}`,
    `- baked by direct kernel boot, the same: ${formatRatio(r.directOverBase)}`,
    `- direct over GRUB, VM start → all services active: ${formatRatio(r.directOverGrub)}`,
    "",
    ...runs.flatMap((run) => (run.load ? [`Host load (1-minute average) at the start → end of each boot of run ${run.run}: ${loadLine(run.load)}.`, ""] : [])),
    ...(first ? marksTable(first) : []),
  ].join("\n");
}
