// The text form of a bump report: one table row per name × current version × outcome, its
// manifests as `kind:arch,arch`, then the reason of each unknown row.
import type { BumpReport, BumpRow } from "./bump.js";

/** `knc:amd64,arm64 knd:amd64`: the manifests of a row, compact. */
export function manifestsLabel(row: BumpRow): string {
  const byKind = new Map<string, string[]>();
  for (const m of row.manifests) byKind.set(m.kind, [...(byKind.get(m.kind) ?? []), m.arch]);
  return [...byKind].map(([kind, arches]) => `${kind}:${arches.join(",")}`).join(" ");
}

export function formatBumpTable(report: BumpReport): string[] {
  const header = ["NAME", "MANIFEST(S)", "CURRENT", "NEWEST", "STATUS"];
  const cells = report.rows.map((row) => [row.name, manifestsLabel(row), row.current, row.newest ?? "?", row.status]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? "").length)));
  const line = (c: string[]) => c.map((cell, i) => (i === c.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join("  ");
  const lines = [line(header), ...cells.map(line)];
  const unknown = report.rows.filter((row) => row.status === "unknown");
  if (unknown.length > 0) lines.push("", ...unknown.map((row) => `unknown: ${row.name} ${row.current} (${manifestsLabel(row)}): ${row.reason ?? "?"}`));
  const c = report.counts;
  lines.push("", `${c.newer} newer, ${c["up-to-date"]} up to date, ${c.unknown} unknown`);
  return lines;
}
