// The comparison itself: pure, on snapshots. Groups are kind × os × arch (× target for images);
// within a group, components and container images are matched by name. A new version is a
// version change; the same version with a new digest is its own category, because it means the
// bytes behind a release changed (a re-tagged upstream, or a pin from another source) and a
// reviewer must look at it.
import { ARCHES, KINDS } from "../manifest/schema.js";
import type { BaseImageRef, Component, ContainerImageRef, Snapshot, VmconfigRef } from "./snapshot.js";

export interface Versioned {
  name: string;
  version: string;
  digest: string;
}

export interface Change<T extends Versioned = Versioned> {
  name: string;
  from: T;
  to: T;
}

export interface ChangeSet<T extends Versioned = Versioned> {
  added: T[];
  removed: T[];
  versionChanged: Change<T>[];
  /** Same version, different digest. */
  digestChanged: Change<T>[];
}

export interface ContainerImageChanges extends ChangeSet<ContainerImageRef> {
  /** False when a side does not record its container images: the lists are then empty. */
  compared: boolean;
  /** Which side lacks them, when not compared. */
  missingOn?: "from" | "to" | "both";
}

export type GroupStatus = "added" | "removed" | "changed" | "unchanged";

export interface GroupDiff {
  kind: string;
  os: string;
  arch: string;
  target?: string;
  status: GroupStatus;
  /** Where each side was read (file, REF:path or image name); null when the side has no such group. */
  from: string | null;
  to: string | null;
  components: ChangeSet<Component>;
  containerImages: ContainerImageChanges;
  /** Set when the base image differs (or exists on one side only). */
  baseImage: { from: BaseImageRef | null; to: BaseImageRef | null } | null;
  vmconfig: { from: VmconfigRef | null; to: VmconfigRef | null } | null;
}

export interface DiffSummary {
  groups: number;
  groupsChanged: number;
  componentsAdded: number;
  componentsRemoved: number;
  versionChanged: number;
  digestChanged: number;
  containerImagesChanged: number;
  baseImagesChanged: number;
  vmconfigChanged: number;
}

export interface DiffSide {
  /** How the user named it: a directory, REF:path, or an image name. */
  label: string;
  type: "directory" | "git" | "image";
}

export interface DiffReport {
  from: DiffSide;
  to: DiffSide;
  changed: boolean;
  summary: DiffSummary;
  groups: GroupDiff[];
}

function emptySet<T extends Versioned>(): ChangeSet<T> {
  return { added: [], removed: [], versionChanged: [], digestChanged: [] };
}

/** Matches two name-sorted lists by name. */
export function compareNamed<T extends Versioned>(from: readonly T[], to: readonly T[]): ChangeSet<T> {
  const out = emptySet<T>();
  const before = new Map(from.map((item) => [item.name, item]));
  const after = new Map(to.map((item) => [item.name, item]));
  for (const item of from) if (!after.has(item.name)) out.removed.push(item);
  for (const item of to) {
    const old = before.get(item.name);
    if (!old) out.added.push(item);
    else if (old.version !== item.version) out.versionChanged.push({ name: item.name, from: old, to: item });
    else if (old.digest !== item.digest) out.digestChanged.push({ name: item.name, from: old, to: item });
  }
  return out;
}

function setSize(set: ChangeSet): number {
  return set.added.length + set.removed.length + set.versionChanged.length + set.digestChanged.length;
}

function compareContainerImages(from: Snapshot | null, to: Snapshot | null): ContainerImageChanges {
  const a = from ? from.containerImages : [];
  const b = to ? to.containerImages : [];
  if (a === null || b === null) {
    return { ...emptySet<ContainerImageRef>(), compared: false, missingOn: a === null && b === null ? "both" : a === null ? "from" : "to" };
  }
  return { ...compareNamed(a, b), compared: true };
}

function sameBase(a: BaseImageRef, b: BaseImageRef): boolean {
  return a.digest === b.digest && a.source === b.source && a.version === b.version;
}

function sameVmconfig(a: VmconfigRef, b: VmconfigRef): boolean {
  return a.digest === b.digest && a.version === b.version;
}

export function compareGroup(from: Snapshot | null, to: Snapshot | null): GroupDiff {
  const key = to ?? from;
  if (!key) throw new Error("compareGroup needs at least one side");
  const components = compareNamed(from?.components ?? [], to?.components ?? []);
  const containerImages = compareContainerImages(from, to);
  const baseImage = from && to && sameBase(from.baseImage, to.baseImage) ? null : { from: from?.baseImage ?? null, to: to?.baseImage ?? null };
  const vmconfig = from && to && sameVmconfig(from.vmconfig, to.vmconfig) ? null : { from: from?.vmconfig ?? null, to: to?.vmconfig ?? null };
  const differs = setSize(components) > 0 || setSize(containerImages) > 0 || baseImage !== null || vmconfig !== null;
  const status: GroupStatus = !from ? "added" : !to ? "removed" : differs ? "changed" : "unchanged";
  return {
    kind: key.kind,
    os: key.os,
    arch: key.arch,
    ...(key.target ? { target: key.target } : {}),
    status,
    from: from?.source ?? null,
    to: to?.source ?? null,
    components,
    containerImages,
    baseImage,
    vmconfig,
  };
}

function rank(list: readonly string[], value: string): number {
  const i = list.indexOf(value);
  return i < 0 ? list.length : i;
}

/** knd before knc (the order of every other listing), then os, arch, target. */
export function compareGroupKeys(a: Pick<GroupDiff, "kind" | "os" | "arch" | "target">, b: Pick<GroupDiff, "kind" | "os" | "arch" | "target">): number {
  const ka = [rank(KINDS, a.kind), a.kind, a.os, rank(ARCHES, a.arch), a.arch, a.target ?? ""];
  const kb = [rank(KINDS, b.kind), b.kind, b.os, rank(ARCHES, b.arch), b.arch, b.target ?? ""];
  for (let i = 0; i < ka.length; i++) {
    const [x, y] = [ka[i] ?? "", kb[i] ?? ""];
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

function groupKey(s: Snapshot): string {
  return [s.kind, s.os, s.arch, s.target ?? ""].join("\0");
}

export function summarize(groups: readonly GroupDiff[]): DiffSummary {
  const sum = (f: (g: GroupDiff) => number) => groups.reduce((n, g) => n + f(g), 0);
  return {
    groups: groups.length,
    groupsChanged: groups.filter((g) => g.status !== "unchanged").length,
    componentsAdded: sum((g) => g.components.added.length),
    componentsRemoved: sum((g) => g.components.removed.length),
    versionChanged: sum((g) => g.components.versionChanged.length),
    digestChanged: sum((g) => g.components.digestChanged.length),
    containerImagesChanged: sum((g) => setSize(g.containerImages)),
    baseImagesChanged: sum((g) => (g.baseImage ? 1 : 0)),
    vmconfigChanged: sum((g) => (g.vmconfig ? 1 : 0)),
  };
}

/** Pairs the snapshots of both sides by kind × os × arch (× target) and compares each pair. */
export function diffSnapshots(from: DiffSide, fromSnapshots: readonly Snapshot[], to: DiffSide, toSnapshots: readonly Snapshot[]): DiffReport {
  const before = new Map(fromSnapshots.map((s) => [groupKey(s), s]));
  const after = new Map(toSnapshots.map((s) => [groupKey(s), s]));
  const keys = new Set([...before.keys(), ...after.keys()]);
  const groups = [...keys].map((k) => compareGroup(before.get(k) ?? null, after.get(k) ?? null)).sort(compareGroupKeys);
  return report(from, to, groups);
}

/** Two single snapshots compared as one group, whatever their keys (two images of any kind). */
export function diffPair(from: DiffSide, a: Snapshot | null, to: DiffSide, b: Snapshot): DiffReport {
  return report(from, to, [compareGroup(a, b)]);
}

function report(from: DiffSide, to: DiffSide, groups: GroupDiff[]): DiffReport {
  const summary = summarize(groups);
  return { from, to, changed: summary.groupsChanged > 0, summary, groups };
}
