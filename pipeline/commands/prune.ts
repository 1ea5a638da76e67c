// `prune`: retention of old images (qcow2 files, AMIs and their snapshots) and their records.
import { InvalidArgumentError, type Command } from "commander";
import path from "node:path";
import { parseArches, parseKinds, parseTargets } from "../cli/options.js";
import { printJson, printLine } from "../cli/output.js";
import { WorkError } from "../errors/index.js";
import type { Ec2 } from "../aws/index.js";
import { prune, type PruneReport } from "../retention/prune.js";

function parseCount(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`expected a whole number of images, at least 1, found ${JSON.stringify(value)}`);
  return n;
}

function parseDays(value: string): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !Number.isFinite(n)) throw new InvalidArgumentError(`expected a number of days, found ${JSON.stringify(value)}`);
  return n;
}

interface PruneFlags {
  keep: number;
  olderThan?: number;
  dryRun?: boolean;
  out: string;
  kind?: string[];
  arch?: string[];
  target?: string[];
  allowUntested?: boolean;
  json?: boolean;
}

let ec2: Promise<Ec2> | undefined;
/** The SDK loads only when an aws image is really up for deletion. */
function lazyEc2(): Promise<Ec2> {
  ec2 ??= import("../aws/ec2.js").then((m) => m.createEc2());
  return ec2;
}

function table(report: PruneReport): string[] {
  const rows: string[][] = [];
  const verb = report.dryRun ? "would delete" : "deleted";
  for (const p of report.pruned) {
    const what = [...p.files, ...p.amis.map((a) => `${a.ami} (${a.region}${a.gone ? ", already gone" : ""}) + ${a.snapshots.length ? a.snapshots.join(" ") : "no snapshot"}`)];
    rows.push([verb, p.name, p.target, p.createdAt, what.join(", ") || "(record only)"]);
  }
  for (const r of report.refused) rows.push(["REFUSED", r.name, r.target, r.createdAt, r.reason]);
  for (const f of report.failed) rows.push(["FAILED", f.name, f.target, f.createdAt, f.error]);
  for (const k of report.kept) rows.push(["keep", k.name, k.target, k.createdAt, k.why]);
  const header = ["ACTION", "IMAGE", "TARGET", "CREATED", "WHAT / WHY"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join("  ");
  return [line(header), ...rows.map(line)];
}

export function register(program: Command): Command {
  return program
    .command("prune")
    .description("Delete old images (qcow2 files, AMIs and their snapshots) and their records, keeping the newest N per kind x arch x target")
    .requiredOption("--keep <n>", "images to keep per kind x arch x target, newest first (by the record's createdAt)", parseCount)
    .option("--older-than <days>", "only delete images older than this many days", parseDays)
    .option("--dry-run", "delete nothing; print exactly what would go")
    .option("--out <dir>", "the directory of images.json and images.auto.tfvars.json", "out")
    .option("--kind <kinds>", "only these kinds, comma-separated: knd,knc (default: all)", parseKinds)
    .option("--arch <arches>", "only these architectures, comma-separated: amd64,arm64 (default: all)", parseArches)
    .option("--target <targets>", "only these targets, comma-separated: qemu,aws (default: all)", parseTargets)
    .option("--allow-untested", "regenerate the tfvars as build --allow-untested does")
    .option("--json", "print one JSON document on stdout")
    .addHelpText(
      "after",
      `
Kept: per kind x arch x target the newest --keep images; every image whose AMI the tfvars point
at (the file on disk, and the file as it is regenerated); with --older-than, every image younger
than that. Deleted for the rest: qemu, the qcow2 and the files beside it (logs/<name>.log,
logs/<name>.test/, .work/<name>/); aws, the AMI in every region of the record (deregistered)
and its snapshots, only when each of those AMIs carries the tags podplane-images sets
(podplane:managed-by=podplane-images and the record's podplane:input-hash); otherwise the image
is REFUSED and nothing of it is touched. The records of deleted images leave images.json and
the tfvars are regenerated, atomically and under the publish lock. --dry-run makes the same
read-only checks (AWS DescribeImages) and deletes nothing.

AWS: the AWS SDK's standard configuration: credentials chain, AWS_ENDPOINT_URL(_EC2) for another
endpoint; the region of each call is the region recorded with the AMI.

Exit codes: 0 done, 1 an image was refused or a deletion failed (the rest is done and the
records reflect it), 2 bad usage or a bad images.json / tfvars (named with the file).`,
    )
    .action(async (flags: PruneFlags) => {
      const report = await prune({
        dir: path.resolve(flags.out),
        dryRun: flags.dryRun === true,
        keep: flags.keep,
        olderThanDays: flags.olderThan,
        kinds: flags.kind,
        arches: flags.arch,
        targets: flags.target,
        publish: { allowUntested: flags.allowUntested },
        ec2: lazyEc2,
      });
      const ok = report.refused.length === 0 && report.failed.length === 0;
      if (flags.json) printJson({ ok, ...report });
      else {
        for (const l of table(report)) printLine(l);
        printLine(`${report.dryRun ? "dry run: would delete" : "deleted"} ${report.pruned.length}, kept ${report.kept.length}, refused ${report.refused.length}, failed ${report.failed.length} (${report.imagesFile})`);
      }
      if (!ok) {
        if (flags.json) process.exitCode = 1;
        else throw new WorkError("EPRUNE", `${report.refused.length} refused, ${report.failed.length} failed (see the table above)`, { refused: report.refused, failed: report.failed });
      }
    });
}
