// Per-unit start breakdown of one benchmark boot: for each service, what systemd did with it at
// boot before the user-data (containerd starts there from the files install.sh wrote; the others
// are skipped for their conditions), in the first configure (user-data) and in the delivery's
// configure, when it was asked (seconds after the user-data's start, negative before it, resp.
// after the delivery), how long its start job took (systemd's
// "Starting" → "Started"; for Type=exec that is the fork/exec of run.sh, for Type=notify until
// READY=1) and, for a stand-in, how long after its exec it had passed its checks (its .starts
// record: interpreter start-up + flag and config checks). So the report says which unit the
// `starts` phase waits for and what an interpreter costs, every run.
import type { SerialLine } from "../pipeline/boot/qemu.js";

export type JobWhat = "starting" | "started" | "stopping" | "stopped" | "failed" | "restart-scheduled" | "skipped";

export interface UnitJob {
  /** Guest monotonic seconds. */
  at: number;
  what: JobWhat;
}

/** What boot-timings.py adds for the breakdown (absent in results of older benchmark runs). */
export interface UnitTimings {
  unitJobs?: Record<string, UnitJob[]>;
  /** restart.sh's summary lines the journal holds (the delivery's run), guest monotonic seconds. */
  restartLines?: Array<{ at: number; text: string }>;
  /** Stand-in name → guest monotonic seconds of each start that passed its checks. */
  standinStarts?: Record<string, number[]>;
}

export interface UnitWindow {
  /** What happened, in order: "start", "restart" (stop + start), "stop", "skipped", "failed", "crash-restart". */
  actions: string[];
  /** Seconds from the window's origin to the first job ("Starting"/"Stopping"/skip). */
  askedAfter?: number;
  /** Seconds from the first "Starting" to its "Started" (the start job). */
  startJob?: number;
  /** Seconds from the window's origin to the last "Started". */
  startedAfter?: number;
  /** Seconds from the last "Started" to the stand-in's record of its passed checks. */
  standinReady?: number;
}

export interface UnitBreakdown {
  unit: string;
  /** Before the user-data's start, relative to it (absent in results of older benchmark runs). */
  boot?: UnitWindow;
  firstBoot: UnitWindow;
  delivery: UnitWindow;
}

/** The jobs of one unit in [from, to), folded into a window relative to `origin`. */
export function unitWindow(jobs: readonly UnitJob[], standin: readonly number[], origin: number, from: number, to: number): UnitWindow {
  const inside = jobs.filter((j) => j.at >= from && j.at < to).sort((a, b) => a.at - b.at);
  const actions: string[] = [];
  let stopping = false;
  for (const job of inside) {
    if (job.what === "stopping") stopping = true;
    else if (job.what === "starting") {
      actions.push(stopping ? "restart" : "start");
      stopping = false;
    } else if (job.what === "skipped") actions.push("skipped");
    else if (job.what === "failed") actions.push("failed");
    else if (job.what === "restart-scheduled") actions.push("crash-restart");
  }
  if (stopping) actions.push("stop");
  const window: UnitWindow = { actions };
  const first = inside.find((j) => j.what === "starting" || j.what === "stopping" || j.what === "skipped");
  if (first) window.askedAfter = first.at - origin;
  const starting = inside.find((j) => j.what === "starting");
  const startedAll = inside.filter((j) => j.what === "started");
  // Its "Started" may come after the window: a start at boot still under way when the user-data
  // began is measured to its end.
  const started = starting ? [...jobs].sort((a, b) => a.at - b.at).find((j) => j.what === "started" && j.at >= starting.at) : undefined;
  if (starting && started) window.startJob = started.at - starting.at;
  const last = startedAll.at(-1);
  if (last) {
    window.startedAfter = last.at - origin;
    // A stand-in's record comes after its exec, which systemd logs as "Started" for Type=exec
    // (and just before READY=1 for Type=notify, hence the small slack before it).
    const ready = standin.filter((t) => t >= last.at - 0.5 && t < to).sort((a, b) => a - b)[0];
    if (ready !== undefined) window.standinReady = Math.max(0, ready - last.at);
  }
  return window;
}

/**
 * Every unit's boot window (→ user-data start), first-boot window (user-data start → delivery)
 * and delivery window (delivery → end), in guest monotonic seconds (`userDataStart`, `delivered`).
 */
export function unitBreakdown(timings: UnitTimings, units: readonly string[], userDataStart: number, delivered: number): UnitBreakdown[] {
  return units.map((unit) => {
    const jobs = timings.unitJobs?.[unit] ?? [];
    const standin = timings.standinStarts?.[unit.replace(/\.service$/, "")] ?? [];
    return {
      unit,
      boot: unitWindow(jobs, standin, userDataStart, Number.NEGATIVE_INFINITY, userDataStart),
      firstBoot: unitWindow(jobs, standin, userDataStart, userDataStart, delivered),
      delivery: unitWindow(jobs, standin, delivered, delivered, Number.POSITIVE_INFINITY),
    };
  });
}

const s = (v: number | undefined): string => (v === undefined ? "–" : v.toFixed(1));

function cell(w: UnitWindow | undefined): string {
  if (!w || w.actions.length === 0) return "–";
  return w.actions.join(", ");
}

/** The Markdown table of a breakdown. */
export function unitTable(rows: readonly UnitBreakdown[]): string[] {
  return [
    "| unit | at boot | asked (s after user-data start) | start job (s) | first boot | asked (s after user-data start) | start job (s) | stand-in checks passed (s after exec) | delivery | asked (s after delivery) | start job (s) | active (s after delivery) | stand-in checks passed (s after exec) |",
    "|---|---|---:|---:|---|---:|---:|---:|---|---:|---:|---:|---:|",
    ...rows.map(
      (r) =>
        `| ${r.unit} | ${cell(r.boot)} | ${s(r.boot?.askedAfter)} | ${s(r.boot?.startJob)} | ${cell(r.firstBoot)} | ${s(r.firstBoot.askedAfter)} | ${s(r.firstBoot.startJob)} | ${s(r.firstBoot.standinReady)} | ${cell(r.delivery)} | ${s(r.delivery.askedAfter)} | ${s(r.delivery.startJob)} | ${s(r.delivery.startedAfter)} | ${s(r.delivery.standinReady)} |`,
    ),
  ];
}

const SUMMARY = /podplane-restart: (started: .*; restarted: .*)$/;

/** restart.sh's summary of each configure run: the first boot's from the serial console (cloud-init's output), the others from the journal. */
export function restartSummaries(serial: readonly SerialLine[], journal: ReadonlyArray<{ at: number; text: string }>, offset: number): Array<{ at: number; text: string }> {
  const seen = new Map<string, { at: number; text: string }>();
  const fromSerial = serial.flatMap((l) => {
    const match = SUMMARY.exec(l.text.trimEnd());
    return match ? [{ at: l.seconds, text: match[1] as string }] : [];
  });
  const all = [...fromSerial, ...journal.map((l) => ({ at: offset + l.at, text: l.text }))];
  for (const line of all.sort((a, b) => a.at - b.at)) {
    // The journal's and the console's copy of one line are one run.
    const key = `${Math.round(line.at / 5)}:${line.text.trim()}`;
    if (!seen.has(key)) seen.set(key, { at: line.at, text: line.text.trim() });
  }
  return [...seen.values()];
}
