// Which images retention keeps and which it may delete: a pure function of images.json, the
// images the tfvars point at, the selectors and the clock. Per kind × arch × target the newest
// N (by the record's createdAt) stay; an image the tfvars point at always stays; with
// olderThanDays only images older than that may go.
import type { ImageRecord, ImagesFile } from "../publish/index.js";

export interface RetentionPolicy {
  keep: number;
  olderThanDays?: number;
  kinds?: readonly string[];
  arches?: readonly string[];
  targets?: readonly string[];
  now: Date;
}

export type KeepReason = "newest" | "tfvars" | "younger" | "unselected";

export interface Kept {
  record: ImageRecord;
  reason: KeepReason;
  /** Human wording of the reason. */
  why: string;
}

export interface RetentionPlan {
  keep: Kept[];
  prune: ImageRecord[];
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** True when some AMI of the record is one the tfvars point at. */
export function referencedByTfvars(record: ImageRecord, tfvarsAmis: ReadonlySet<string>): boolean {
  return Object.values(record.amis ?? {}).some((ami) => tfvarsAmis.has(ami));
}

function selected(record: ImageRecord, policy: RetentionPolicy): boolean {
  return (
    (!policy.kinds || policy.kinds.includes(record.kind)) &&
    (!policy.arches || policy.arches.includes(record.arch)) &&
    (!policy.targets || policy.targets.includes(record.target))
  );
}

export function planRetention(doc: ImagesFile, tfvarsAmis: ReadonlySet<string>, policy: RetentionPolicy): RetentionPlan {
  const keep: Kept[] = [];
  const prune: ImageRecord[] = [];
  const groups = new Map<string, ImageRecord[]>();
  for (const record of doc.images) {
    if (!selected(record, policy)) {
      keep.push({ record, reason: "unselected", why: "not selected (--kind/--arch/--target)" });
      continue;
    }
    const key = [record.kind, record.arch, record.target].join("\0");
    const group = groups.get(key) ?? [];
    group.push(record);
    groups.set(key, group);
  }
  const cutoff = policy.olderThanDays === undefined ? undefined : policy.now.getTime() - policy.olderThanDays * DAY_MS;
  for (const key of [...groups.keys()].sort()) {
    // Newest first; the name breaks ties so that the same input always gives the same plan.
    const group = (groups.get(key) ?? []).sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt) || (a.name < b.name ? -1 : 1));
    group.forEach((record, index) => {
      if (index < policy.keep) keep.push({ record, reason: "newest", why: `one of the newest ${policy.keep}` });
      else if (referencedByTfvars(record, tfvarsAmis)) keep.push({ record, reason: "tfvars", why: "the tfvars point at it" });
      else if (cutoff !== undefined && Date.parse(record.createdAt) > cutoff) keep.push({ record, reason: "younger", why: `younger than ${policy.olderThanDays} days` });
      else prune.push(record);
    });
  }
  return { keep, prune };
}
