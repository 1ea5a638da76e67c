// How a plan and a run's results are shown: a text table, a JSON document, and the include
// list of a GitHub Actions `strategy.matrix` (one job per entry that has work to do).
import type { BuildPlan, PlanAction, PlanEntry } from "./plan.js";
import type { EntryResult } from "./run.js";

/** "build" when a build would do work on the entry (bake it, or boot-test it), else "skip". */
export type PlanStatus = "build" | "skip";

export function statusOf(action: PlanAction): PlanStatus {
  return action === "skip" ? "skip" : "build";
}

export interface PlanEntryJson {
  kind: string;
  arch: string;
  os: string;
  target: string;
  name: string | null;
  hash: string | null;
  action: PlanAction;
  status: PlanStatus;
  reason: string;
  base: { source: string; digest: string | null };
}

function entryJson(e: PlanEntry): PlanEntryJson {
  return { kind: e.kind, arch: e.arch, os: e.os, target: e.target, name: e.name, hash: e.inputHash, action: e.action, status: statusOf(e.action), reason: e.reason, base: { source: e.base.source, digest: e.base.digest } };
}

/** --changed-only: leave out what images.json already has and needs nothing more (status skip). */
export function selectEntries(plan: BuildPlan, changedOnly = false): PlanEntry[] {
  return changedOnly ? plan.entries.filter((e) => e.action !== "skip") : plan.entries;
}

export function planJson(plan: BuildPlan, changedOnly = false) {
  return { inputs: plan.inputs, entries: selectEntries(plan, changedOnly).map(entryJson) };
}

export interface GithubMatrix {
  include: Array<{ kind: string; arch: string; target: string; name: string | null; hash: string | null; status: PlanStatus }>;
}

/** The value a workflow passes to `matrix: ${{ fromJSON(needs.plan.outputs.matrix) }}`. */
export function githubMatrix(plan: BuildPlan, changedOnly = false): GithubMatrix {
  return { include: selectEntries(plan, changedOnly).map((e) => ({ kind: e.kind, arch: e.arch, target: e.target, name: e.name, hash: e.inputHash, status: statusOf(e.action) })) };
}

/** Left-aligned columns, two spaces apart; the last column is not padded. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join("  ");
  return [line(header), ...rows.map(line)];
}

export function planTable(plan: BuildPlan, changedOnly = false): string[] {
  const entries = selectEntries(plan, changedOnly);
  if (entries.length === 0) return ["nothing to build: images.json has every selected image"];
  return table(
    ["KIND", "ARCH", "TARGET", "NAME", "HASH", "STATUS", "WHY"],
    entries.map((e) => [e.kind, e.arch, e.target, e.name ?? "(after its base is built)", e.inputHash?.slice(0, 12) ?? "-", e.action === "test" ? "build (boot test)" : statusOf(e.action), e.reason]),
  );
}

export function summaryTable(results: readonly EntryResult[]): string[] {
  return table(
    ["NAME", "TARGET", "RESULT", "SECONDS", "LOG"],
    results.map((r) => [r.name ?? `${r.kind}-${r.os}-${r.arch} (unnamed)`, r.target, r.result, r.seconds.toFixed(1), r.logPath ?? "-"]),
  );
}
