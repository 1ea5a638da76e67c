// A diff report as Markdown for a release page or a PR body: the summary sentence on the first
// line (a tool or a reader can take it alone), then one section per kind × os × arch that
// changed, then the list of unchanged ones. Same report, same bytes: every list is in a fixed
// order and nothing depends on time or locale.
import type { BaseImageRef, Component, ContainerImageRef, VmconfigRef } from "./snapshot.js";
import type { Change, ChangeSet, DiffReport, DiffSummary, GroupDiff, Versioned } from "./compare.js";

export interface MarkdownOptions {
  /** A heading above everything (release notes name their image). */
  title?: string;
  /** Replaces the summary sentence (release notes of a first image say so). */
  summary?: string;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Table cells: a pipe or a newline would break the row. */
function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

function code(text: string): string {
  return `\`${text.replace(/`/g, "'")}\``;
}

/** Enough of a digest to tell two apart in a table; --json has them whole. */
export function shortDigest(digest: string): string {
  if (digest === "") return "unpinned";
  const [algo, hex] = digest.split(":");
  return hex ? `${algo}:${hex.slice(0, 12)}` : digest;
}

function versioned(item: Versioned | undefined): string {
  if (!item) return "";
  return `${item.version || "(no tag)"} (${code(shortDigest(item.digest))})`;
}

function groupTitle(g: Pick<GroupDiff, "kind" | "os" | "arch" | "target">): string {
  return [g.kind, g.os, g.arch, ...(g.target ? [`(${g.target})`] : [])].join(" ");
}

export function summaryLine(report: DiffReport): string {
  const s = report.summary;
  const between = `${code(report.from.label)} → ${code(report.to.label)}`;
  const unrecorded = report.groups.some((g) => !g.containerImages.compared) ? "; container images not recorded, not compared" : "";
  if (!report.changed) return `No differences between ${between} (${plural(s.groups, "kind × arch", "kind × arch")} compared${unrecorded}).`;
  return `${between}: ${s.groupsChanged} of ${plural(s.groups, "kind × arch", "kind × arch")} changed: ${countsText(s)}.`;
}

function countsText(s: DiffSummary): string {
  const parts = [
    s.componentsAdded ? `${s.componentsAdded} added` : "",
    s.componentsRemoved ? `${s.componentsRemoved} removed` : "",
    s.versionChanged ? plural(s.versionChanged, "version change") : "",
    s.digestChanged ? `${plural(s.digestChanged, "digest change")} with the same version` : "",
    s.containerImagesChanged ? plural(s.containerImagesChanged, "container image change") : "",
    s.baseImagesChanged ? plural(s.baseImagesChanged, "base image change") : "",
    s.vmconfigChanged ? plural(s.vmconfigChanged, "vmconfig change") : "",
  ].filter(Boolean);
  return parts.length > 0 ? parts.join(", ") : "no component changes";
}

type Row = [string, string, string, string];

function changeRows<T extends Versioned>(set: ChangeSet<T>): Row[] {
  const rows: Row[] = [];
  for (const item of set.added) rows.push([item.name, "added", "", versioned(item)]);
  for (const item of set.removed) rows.push([item.name, "removed", versioned(item), ""]);
  for (const c of set.versionChanged) rows.push([c.name, "version", versioned(c.from), versioned(c.to)]);
  for (const c of set.digestChanged) rows.push([c.name, "**digest only**", versioned(c.from), versioned(c.to)]);
  return rows;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`)];
}

function digestCallout(changes: readonly Change[], what: string): string[] {
  if (changes.length === 0) return [];
  const names = changes.map((c) => `**${c.name}** ${c.to.version || "(no tag)"}`).join(", ");
  return [`> **Same version, new digest** (${what}): ${names}. The bytes behind an unchanged version changed; check where the new digest came from before releasing.`, ""];
}

/** The source is shown when it tells something: on its own, or when it changed. */
function baseText(b: BaseImageRef | null, withSource = true): string {
  if (!b) return "none";
  return [b.version, withSource && b.source ? code(b.source) : "", `(${code(shortDigest(b.digest))})`].filter(Boolean).join(" ");
}

function baseChange(from: BaseImageRef | null, to: BaseImageRef | null): string {
  const withSource = !from || !to || from.source !== to.source;
  return `Base image: ${baseText(from, withSource)} → ${baseText(to, withSource)}`;
}

function vmconfigText(v: VmconfigRef | null): string {
  if (!v) return "none";
  const digest = v.digest ? code(shortDigest(v.digest)) : "";
  if (!v.version) return digest || "built at bake time";
  return digest ? `version ${v.version} (${digest})` : `version ${v.version}`;
}

/** A group present on one side only: its full list, not a wall of "added". */
function inventory(g: GroupDiff, lead: string): string[] {
  const components = g.status === "added" ? g.components.added : g.components.removed;
  const images = g.status === "added" ? g.containerImages.added : g.containerImages.removed;
  const base = g.status === "added" ? g.baseImage?.to ?? null : g.baseImage?.from ?? null;
  const vm = g.status === "added" ? g.vmconfig?.to ?? null : g.vmconfig?.from ?? null;
  const lines = [lead, "", ...table(["component", "version", "digest"], components.map((c: Component) => [c.name, c.version, code(shortDigest(c.digest))])), ""];
  if (g.containerImages.compared) {
    lines.push(...table(["container image", "tag", "digest"], images.map((i: ContainerImageRef) => [i.name, i.version || "(no tag)", code(shortDigest(i.digest))])), "");
  } else {
    lines.push("Container images: not recorded for this image.", "");
  }
  lines.push(`Base image: ${baseText(base)}`, "", `vmconfig: ${vmconfigText(vm)}`, "");
  return lines;
}

function sourceLine(g: GroupDiff): string {
  if (g.from && g.to) return `${code(g.from)} → ${code(g.to)}`;
  return code(g.from ?? g.to ?? "");
}

const MISSING = { from: "the old side does not record them", to: "the new side does not record them", both: "neither side records them" } as const;

function groupSection(g: GroupDiff): string[] {
  const lines = [`## ${groupTitle(g)}`, "", sourceLine(g), ""];
  if (g.status === "added") return [...lines, ...inventory(g, g.to && g.from === null && g.target ? "First image of its kind: nothing to compare with. It holds:" : "Only in the new set. It holds:")];
  if (g.status === "removed") return [...lines, ...inventory(g, "Only in the old set (gone from the new one). It held:")];
  lines.push(...digestCallout(g.components.digestChanged, "component"), ...digestCallout(g.containerImages.digestChanged, "container image"));
  const rows = changeRows(g.components);
  if (rows.length > 0) lines.push(...table(["component", "change", "from", "to"], rows), "");
  const imageRows = changeRows(g.containerImages);
  if (imageRows.length > 0) lines.push(...table(["container image", "change", "from", "to"], imageRows), "");
  if (!g.containerImages.compared) lines.push(`Container images: not compared (${MISSING[g.containerImages.missingOn ?? "both"]}).`, "");
  if (g.baseImage) lines.push(baseChange(g.baseImage.from, g.baseImage.to), "");
  if (g.vmconfig) lines.push(`vmconfig: ${vmconfigText(g.vmconfig.from)} → ${vmconfigText(g.vmconfig.to)}`, "");
  return lines;
}

export function renderMarkdown(report: DiffReport, options: MarkdownOptions = {}): string {
  const lines: string[] = [];
  if (options.title) lines.push(`# ${options.title}`, "");
  lines.push(options.summary ?? summaryLine(report), "");
  for (const g of report.groups) if (g.status !== "unchanged") lines.push(...groupSection(g));
  const unchanged = report.groups.filter((g) => g.status === "unchanged");
  if (unchanged.length > 0 && report.changed) lines.push(`Unchanged: ${unchanged.map(groupTitle).join(", ")}.`, "");
  return `${lines.join("\n").trimEnd()}\n`;
}
