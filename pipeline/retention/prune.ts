// prune: applies the retention plan. qemu images lose their qcow2 and side files; aws images are
// deregistered and their snapshots deleted in every region of the record, but only when every
// one of those AMIs carries the tags that prove this tool made it for that image. Then the
// records go from images.json and the derived files are regenerated, atomically and under the
// publish lock. A dry run makes the same read-only checks and deletes nothing.
import { existsSync } from "node:fs";
import path from "node:path";
import { UsageError } from "../errors/index.js";
import { describeAwsError, notOursBecause, type Ec2 } from "../aws/ownership.js";
import {
  IMAGES_FILE,
  TFVARS_FILE,
  deriveFiles,
  tfvarsFor,
  withFileLock,
  writeDerivedFiles,
  writeFileAtomic,
  type DerivedFiles,
  type ImageRecord,
  type ImagesFile,
  type PublishOptions,
} from "../publish/index.js";
import { readImagesStrict } from "../publish/read-strict.js";
import { deleteImageFiles, qemuImageFiles } from "./qemu.js";
import { awsImageFiles } from "./side-files.js";
import { planRetention, type KeepReason, type RetentionPolicy } from "./select.js";
import { amisOf, pointsAtUntested, readTfvarsAmis } from "../publish/tfvars-refs.js";

export interface PruneOptions extends Omit<RetentionPolicy, "now"> {
  dir: string;
  dryRun: boolean;
  now?: Date;
  /** The EC2 calls; created on first use, so a qemu-only prune needs no AWS configuration. */
  ec2: () => Promise<Ec2>;
  publish?: PublishOptions;
}

export interface AmiDeletion {
  region: string;
  ami: string;
  snapshots: string[];
  /** The AMI was already gone; only leftover snapshots (if any) are deleted. */
  gone?: boolean;
}

export interface ImageSummary {
  name: string;
  kind: string;
  arch: string;
  target: string;
  createdAt: string;
}

export interface PrunedImage extends ImageSummary {
  files: string[];
  amis: AmiDeletion[];
}

export interface KeptImage extends ImageSummary {
  reason: KeepReason;
  why: string;
}

export interface RefusedImage extends ImageSummary {
  reason: string;
}

export interface FailedImage extends ImageSummary {
  error: string;
  /** Regions whose AMI was deleted before the failure (the record keeps only the others). */
  deletedRegions: string[];
}

export interface PruneReport {
  dryRun: boolean;
  dir: string;
  imagesFile: string;
  kept: KeptImage[];
  pruned: PrunedImage[];
  refused: RefusedImage[];
  failed: FailedImage[];
  derived?: DerivedFiles;
}

function summary(r: ImageRecord): ImageSummary {
  return { name: r.name, kind: r.kind, arch: r.arch, target: r.target, createdAt: r.createdAt };
}

type AwsCheck = { ok: true; deletions: AmiDeletion[] } | { ok: false; reason: string };

/** Read-only: every AMI of the record described, proven ours, with its snapshots listed. */
async function checkAws(record: ImageRecord, ec2: Ec2): Promise<AwsCheck> {
  const deletions: AmiDeletion[] = [];
  const reasons: string[] = [];
  for (const [region, ami] of Object.entries(record.amis ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const info = await ec2.describeAmi(region, ami);
    if (!info) {
      deletions.push({ region, ami, snapshots: await ec2.orphanSnapshots(region, ami), gone: true });
      continue;
    }
    const why = notOursBecause(info, record.inputHash);
    if (why) reasons.push(why);
    else deletions.push({ region, ami, snapshots: info.snapshots });
  }
  // One foreign AMI makes the whole record suspect: none of its regions is touched.
  return reasons.length > 0 ? { ok: false, reason: `not provably made by podplane-images: ${reasons.join("; ")}` } : { ok: true, deletions };
}

interface Outcome {
  pruned: PrunedImage[];
  refused: RefusedImage[];
  failed: FailedImage[];
  /** name\0target → the record to keep in its place (fewer regions), or null to drop it. */
  changes: Map<string, ImageRecord | null>;
}

async function applyPlan(records: readonly ImageRecord[], options: PruneOptions): Promise<Outcome> {
  const out: Outcome = { pruned: [], refused: [], failed: [], changes: new Map() };
  for (const record of records) {
    const key = `${record.name}\0${record.target}`;
    try {
      if (record.target === "qemu") {
        const files = await qemuImageFiles(record, options.dir);
        if (!options.dryRun) await deleteImageFiles(files);
        out.pruned.push({ ...summary(record), files: files.map((f) => f.path), amis: [] });
        out.changes.set(key, null);
        continue;
      }
      const ec2 = await options.ec2();
      const check = await checkAws(record, ec2);
      if (!check.ok) {
        out.refused.push({ ...summary(record), reason: check.reason });
        continue;
      }
      const done: string[] = [];
      try {
        for (const d of check.deletions) {
          if (!options.dryRun) {
            // Deregister first: AWS refuses to delete a snapshot an AMI still uses.
            if (!d.gone) await ec2.deregisterAmi(d.region, d.ami);
            for (const snapshot of d.snapshots) await ec2.deleteSnapshot(d.region, snapshot);
          }
          done.push(d.region);
        }
      } catch (error) {
        const left = Object.fromEntries(Object.entries(record.amis ?? {}).filter(([region]) => !done.includes(region)));
        out.failed.push({ ...summary(record), error: describeAwsError(error), deletedRegions: done });
        out.changes.set(key, done.length > 0 ? { ...record, amis: left } : record);
        continue;
      }
      // The AMIs are gone: the files written for them (release notes, SBOMs, provenance) go too
      // (the record goes even if they cannot).
      const files = await awsImageFiles(record, options.dir);
      if (!options.dryRun) {
        try {
          await deleteImageFiles(files);
        } catch (error) {
          out.failed.push({ ...summary(record), error: (error as Error).message, deletedRegions: done });
          out.changes.set(key, null);
          continue;
        }
      }
      out.pruned.push({ ...summary(record), files: files.map((f) => f.path), amis: check.deletions });
      out.changes.set(key, null);
    } catch (error) {
      out.failed.push({ ...summary(record), error: error instanceof Error ? error.message : String(error), deletedRegions: [] });
    }
  }
  return out;
}

function withoutPruned(doc: ImagesFile, changes: ReadonlyMap<string, ImageRecord | null>): ImagesFile {
  const images: ImageRecord[] = [];
  for (const record of doc.images) {
    const change = changes.get(`${record.name}\0${record.target}`);
    if (change === undefined) images.push(record);
    else if (change !== null) images.push(change);
  }
  return { version: doc.version, images };
}

export async function prune(options: PruneOptions): Promise<PruneReport> {
  const dir = path.resolve(options.dir);
  const imagesFile = path.join(dir, IMAGES_FILE);
  const run = async (): Promise<PruneReport> => {
    if (!existsSync(imagesFile)) throw new UsageError(`${imagesFile}: no images.json in ${dir} (--out names the directory build published into)`, "ENOIMAGES");
    const doc = await readImagesStrict(imagesFile);
    // Never delete what the tfvars on disk point at, nor what they will point at once regenerated.
    const onDisk = await readTfvarsAmis(path.join(dir, TFVARS_FILE));
    const publish: PublishOptions = { ...options.publish, allowUntested: options.publish?.allowUntested === true || pointsAtUntested(onDisk, doc) };
    const referenced = new Set([...onDisk, ...amisOf(tfvarsFor(doc, publish))]);
    const plan = planRetention(doc, referenced, { ...options, now: options.now ?? new Date() });
    const outcome = await applyPlan(plan.prune, options);
    const report: PruneReport = {
      dryRun: options.dryRun,
      dir,
      imagesFile,
      kept: plan.keep.map((k) => ({ ...summary(k.record), reason: k.reason, why: k.why })),
      pruned: outcome.pruned,
      refused: outcome.refused,
      failed: outcome.failed,
    };
    if (options.dryRun || outcome.changes.size === 0) return report;
    // Applied to images.json as it is now, not as it was read: a publish that got in while the
    // deletions ran (a lock older than publish's stale limit is taken over) keeps its record.
    const next = withoutPruned(await readImagesStrict(imagesFile), outcome.changes);
    deriveFiles(dir, next, publish);
    await writeFileAtomic(imagesFile, `${JSON.stringify(next, null, 2)}\n`);
    report.derived = await writeDerivedFiles(dir, next, publish);
    return report;
  };
  // A dry run changes nothing, so it does not wait for a running publish.
  return options.dryRun ? run() : withFileLock(`${imagesFile}.lock`, run);
}
