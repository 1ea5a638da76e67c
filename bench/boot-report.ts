// What the boot benchmark prints: the set-up, taken from the options and facts of this run (never
// fixed text), and the figures with both ratio summaries (bench/stats.ts).
import type { BootPhases, GuestTimings } from "./boot-phases.js";
import { unitTable, type UnitBreakdown } from "./boot-units.js";
import { formatTimings, type ConfigureTimings } from "./configure-timings.js";
import { compareRuns, describeRatio, median, type Comparison } from "./stats.js";

export interface BenchSetup {
  date: string;
  commit: string;
  kind: string;
  arch: string;
  provider: string;
  runs: number;
  padBytes: number;
  setBytes: number;
  artifactCount: number;
  /** From the QEMU command line the VMs get (qemuArgs). */
  qemu: { accel: string; cpus: string; memoryMiB: string };
  host: { cores: number; loadBefore: readonly number[]; loadAfter?: readonly number[] };
  base: { path: string; how: string };
  baked: { path: string; how: string };
  services: readonly string[];
  deliveryFiles: number;
  downloadParallel: number;
  mirrorGuest: string;
}

export interface ConfigureRerun {
  /** Guest seconds (/proc/uptime) around `configure.sh` with unchanged inputs. */
  vmSeconds: number;
  timings: ConfigureTimings;
  /** restart.sh's summary line ("started: none; restarted: none; ..."). */
  restartSummary: string;
  /** Nothing started, restarted or stopped. */
  noop: boolean;
  /** Guest seconds of a `sudo -n true` just before (sudo's own cost). */
  sudoSeconds?: number | undefined;
  /** Guest seconds of `sudo -n bash -c 'source common.sh'` (sudo + bash + the library every script sources). */
  sourceSeconds?: number | undefined;
}

export interface ArmRun {
  arm: "install" | "baked";
  run: number;
  image: string;
  phases: BootPhases;
  timings: GuestTimings;
  rerun: ConfigureRerun;
  serialLog: string;
  /** GET requests the mirror served during this boot. */
  mirrorGets: number;
  /** Per-unit start breakdown (bench/boot-units.ts). */
  units?: UnitBreakdown[];
  /** restart.sh's summary line of each configure run of the boot, host seconds since VM start. */
  restartSummaries?: Array<{ at: number; text: string }>;
}

const loads = (l: readonly number[]): string => l.map((x) => x.toFixed(1)).join(" ");
const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(0)} MB`;

export function setupText(s: BenchSetup): string {
  return [
    `${s.date}, at ${s.commit}. ${s.kind} ${s.arch}, provider ${s.provider}; ${s.runs} run${s.runs === 1 ? "" : "s"} per arm, alternating (boot-time install, then baked, in each run).`,
    `Stand-ins: ${s.artifactCount} artifacts, ${mb(s.setBytes)} in all (padding asked: ${mb(s.padBytes)}).`,
    `VMs: QEMU -accel ${s.qemu.accel}, -smp ${s.qemu.cpus}, -m ${s.qemu.memoryMiB}; host: ${s.host.cores} cores, load average ${loads(s.host.loadBefore)} at the start${s.host.loadAfter ? `, ${loads(s.host.loadAfter)} at the end` : ""}.`,
    `Boot-time install: ${s.base.path} (${s.base.how}); its user-data downloads ${s.artifactCount} artifacts + vmconfig.tar.gz from the loopback mirror at ${s.mirrorGuest} (${s.downloadParallel} in parallel), install.sh verifies and installs, then the slim user-data's steps.`,
    `Baked: ${s.baked.path} (${s.baked.how}); the slim user-data only.`,
    `Both: the same user-data.env and registration nonce; after the user-data, one Nstance delivery (${s.deliveryFiles} files into recv/ and keys/); services that must be active: ${s.services.join(", ")}.`,
  ].join("\n");
}

const fmt = (n: number): string => n.toFixed(1);

/** Median per phase over runs, in the first run's phase order. */
export function phaseMedians(runs: readonly ConfigureTimings[]): Array<[string, number]> {
  const names = runs[0]?.phases.map(([name]) => name) ?? [];
  return names.map((name) => [name, median(runs.map((r) => r.phases.find(([n]) => n === name)?.[1] ?? Number.NaN).filter((v) => Number.isFinite(v)))]);
}

export interface PhaseRow {
  key: "toUserData" | "userDataToConfigure" | "deliveryToActive" | "userDataToActive" | "whole";
  name: string;
}

export const PHASE_ROWS: readonly PhaseRow[] = [
  { key: "toUserData", name: "VM start → user-data start" },
  { key: "userDataToConfigure", name: "user-data start → first configure done" },
  { key: "deliveryToActive", name: "delivery → all services active" },
  { key: "userDataToActive", name: "**user-data start → all services active** (the two above; the wait for the delivery left out)" },
  { key: "whole", name: "whole boot (VM start → all services active, less the wait)" },
];

/** install / baked for every phase row, run i paired with run i. */
export function comparisons(install: readonly ArmRun[], baked: readonly ArmRun[]): Array<PhaseRow & { c: Comparison }> {
  return PHASE_ROWS.map((row) => ({ ...row, c: compareRuns(install.map((r) => r.phases[row.key]), baked.map((r) => r.phases[row.key])) }));
}

function configureTable(title: string, install: readonly ConfigureTimings[], baked: readonly ConfigureTimings[]): string[] {
  const a = new Map(phaseMedians(install));
  const b = new Map(phaseMedians(baked));
  const names = [...new Set([...a.keys(), ...b.keys()])];
  const cell = (m: Map<string, number>, n: string): string => (m.has(n) ? String(Math.round(m.get(n) ?? 0)) : "–");
  return [
    `${title} (ms, median of the runs; configure.sh's own timings line):`,
    "",
    `| phase | ${names.join(" | ")} | total |`,
    `|---|${names.map(() => "---:|").join("")}---:|`,
    `| boot-time install | ${names.map((n) => cell(a, n)).join(" | ")} | ${Math.round(median(install.map((t) => t.totalMs)))} |`,
    `| baked | ${names.map((n) => cell(b, n)).join(" | ")} | ${Math.round(median(baked.map((t) => t.totalMs)))} |`,
  ];
}

/** The per-unit table and restart.sh's summaries of one run (empty for results without them). */
export function unitSection(run: ArmRun, label: string): string[] {
  if (!run.units) return [];
  return [
    `Per unit, ${label} run ${run.run} (systemd's job messages; "at boot" is what systemd did before the user-data's start, asked that many seconds before it; "start job" is Starting → Started, which for Type=exec is the fork and exec of run.sh and for Type=notify lasts until READY=1; a stand-in's checks-passed time is its interpreter's start-up and its flag/config checks, after the exec):`,
    "",
    ...unitTable(run.units),
    "",
    ...(run.restartSummaries ?? []).map((l, i) => `- restart.sh, configure run ${i + 1} (at ${fmt(l.at - run.phases.userDataStart)} s after user-data start): ${l.text}`),
    "",
  ];
}

/** One arm's runs alone (--arms with one arm: no ratios), for aiming a cut. */
export function singleArmText(setup: BenchSetup, runs: readonly ArmRun[]): string {
  return [
    setupText(setup),
    "",
    ...runs.flatMap((r) => [
      `${r.arm} run ${r.run}: user-data start → first configure ${fmt(r.phases.userDataToConfigure)} s [${formatTimings(r.phases.firstConfigure)}]; delivery → all active ${fmt(r.phases.deliveryToActive)} s [${formatTimings(r.phases.deliveryConfigure)}]; user-data start → all active ${fmt(r.phases.userDataToActive)} s.`,
      `Rerun with unchanged inputs: ${r.rerun.vmSeconds.toFixed(2)} s guest time [${formatTimings(r.rerun.timings)}]; sudo -n true ${r.rerun.sudoSeconds?.toFixed(2) ?? "–"} s; sudo + bash sourcing common.sh ${r.rerun.sourceSeconds?.toFixed(2) ?? "–"} s; ${r.rerun.restartSummary}`,
      "",
      ...unitSection(r, r.arm),
    ]),
  ].join("\n");
}

export function markdown(setup: BenchSetup, install: readonly ArmRun[], baked: readonly ArmRun[]): string {
  const rows = comparisons(install, baked);
  const rerun = compareRuns(
    install.map((r) => r.rerun.vmSeconds),
    baked.map((r) => r.rerun.vmSeconds),
  );
  const notNoop = [...install, ...baked].filter((r) => !r.rerun.noop).map((r) => `${r.arm} run ${r.run}: ${r.rerun.restartSummary}`);
  const marks = [...new Set(install.flatMap((r) => Object.keys(r.phases.events).filter((k) => k.startsWith("bench:") && k !== "bench:delivery")))];
  const firstBaked = baked[0];
  const aside = (label: string, pick: (r: ConfigureRerun) => number | undefined): string => {
    const of = (runs: readonly ArmRun[]): string => runs.map((r) => pick(r.rerun)).filter((v): v is number => v !== undefined).map((v) => v.toFixed(2)).join(", ") || "–";
    return `${label}: ${of(install)} s boot-time install / ${of(baked)} s baked`;
  };
  const perUnit = (run: ArmRun | undefined, label: string): string[] => (run ? unitSection(run, label) : []);
  return [
    setupText(setup),
    "",
    "| phase (s, host time) | boot-time install (median) | baked (median) | ratio of medians | median of per-run ratios | per-run ratios |",
    "|---|---:|---:|---:|---:|---|",
    ...rows.map(({ name, c }) => `| ${name} | ${fmt(c.medianNumerator)} | ${fmt(c.medianDenominator)} | ${c.ratioOfMedians.toFixed(2)}× | ${c.medianOfRatios.toFixed(2)}× | ${c.ratios.map((r) => r.toFixed(2)).join(", ")} |`),
    "",
    `configure.sh again with unchanged inputs (guest time, median): ${rerun.medianNumerator.toFixed(2)} s boot-time install / ${rerun.medianDenominator.toFixed(2)} s baked (runs: ${rerun.numerator.map((v) => v.toFixed(2)).join(", ")} / ${rerun.denominator.map((v) => v.toFixed(2)).join(", ")}).${notNoop.length > 0 ? ` Not a no-op: ${notNoop.join("; ")}.` : " Every rerun started, restarted and stopped nothing."}`,
    "",
    `Around that rerun, each once per run: ${aside("sudo -n true", (r) => r.sudoSeconds)}; ${aside("sudo + bash sourcing common.sh", (r) => r.sourceSeconds)}.`,
    "",
    ...configureTable("First-boot configure.sh (run by the user-data, before the delivery)", install.map((r) => r.phases.firstConfigure), baked.map((r) => r.phases.firstConfigure)),
    "",
    ...configureTable("configure.sh run by the delivery (nstance-recv-watch)", install.map((r) => r.phases.deliveryConfigure), baked.map((r) => r.phases.deliveryConfigure)),
    "",
    ...configureTable("configure.sh with unchanged inputs", install.map((r) => r.rerun.timings), baked.map((r) => r.rerun.timings)),
    "",
    "Inside the boot-time install's user-data (s after user-data start, median):",
    "",
    ...marks.map((k) => `- ${k.slice(6)}: ${fmt(median(install.map((r) => (r.phases.events[k] ?? Number.NaN) - r.phases.userDataStart).filter((v) => Number.isFinite(v))))}`),
    "",
    ...perUnit(firstBaked, "baked"),
    ...perUnit(install[0], "boot-time install"),
    ...(firstBaked
      ? [
          `Serial-console marks of baked run ${firstBaked.run} (host seconds since QEMU start):`,
          "",
          "| phase | s | first line |",
          "|---|---:|---|",
          ...firstBaked.phases.serialMarks.map((m) => `| ${m.phase} | ${fmt(m.seconds)} | \`${m.line.replace(/\|/g, "\\|")}\` |`),
          "",
          `systemd-analyze (baked run ${firstBaked.run}): ${firstBaked.timings.systemdAnalyze.split("\n")[0] ?? ""}`,
        ]
      : []),
    "",
    ...rows.filter((r) => r.key === "userDataToActive").map((r) => `Headline: user-data start → all services active, boot-time install / baked = ${describeRatio(r.c)}.`),
  ].join("\n");
}
