// The retention plan and the aws half of prune with a scripted EC2 (no server): which images a
// policy keeps, that the tfvars pin wins over age, partial failures, and the tfvars regeneration.
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { AmiInfo, Ec2 } from "../../pipeline/aws/index.js";
import type { ImageRecord, ImagesFile } from "../../pipeline/publish/index.js";
import { prune } from "../../pipeline/retention/prune.js";
import { planRetention } from "../../pipeline/retention/select.js";
import { tempDir } from "../helpers/temp-dir.js";

function aws(name: string, createdAt: string, amis: Record<string, string>, over: Partial<ImageRecord> = {}): ImageRecord {
  return {
    name,
    kind: "knd",
    arch: "amd64",
    os: "debian-13",
    target: "aws",
    inputHash: `hash-${name}`,
    amis,
    dependencies: [],
    vmconfigDigest: "sha256:d",
    baseImage: { source: "ami", digest: "ami-filter" },
    size: 0,
    buildSeconds: 1,
    packerVersion: "1.6.6",
    createdAt,
    ...over,
  };
}

const now = new Date("2026-12-01T00:00:00.000Z");
const a = aws("a", "2026-11-30T00:00:00.000Z", { "us-east-1": "ami-a" });
const b = aws("b", "2026-11-20T00:00:00.000Z", { "us-east-1": "ami-b" });
const c = aws("c", "2026-11-10T00:00:00.000Z", { "us-east-1": "ami-c", "eu-west-1": "ami-ceu" });
const d = aws("d", "2026-10-01T00:00:00.000Z", { "us-east-1": "ami-d" });

describe("planRetention", () => {
  it("keeps the newest N of each kind x arch x target, then what the tfvars point at, then (with --older-than) the young", () => {
    const doc: ImagesFile = { version: 1, images: [d, b, a, c, { ...d, name: "other-arch", arch: "arm64" }] };
    const plan = planRetention(doc, new Set(["ami-ceu"]), { keep: 1, olderThanDays: 15, now });
    expect(plan.keep.map((k) => [k.record.name, k.reason])).toEqual([
      ["a", "newest"],
      ["b", "younger"],
      ["c", "tfvars"],
      ["other-arch", "newest"],
    ]);
    expect(plan.prune.map((r) => r.name)).toEqual(["d"]);
  });

  it("does not count unselected images towards N", () => {
    const plan = planRetention({ version: 1, images: [a, b, { ...a, name: "knc-new", kind: "knc" }] }, new Set(), { keep: 1, kinds: ["knd"], now });
    expect(plan.prune.map((r) => r.name)).toEqual(["b"]);
    expect(plan.keep.find((k) => k.record.name === "knc-new")?.reason).toBe("unselected");
  });
});

/** An EC2 whose every AMI is ours unless listed as foreign; records every call. */
function scriptedEc2(options: { foreign?: string[]; failDeregister?: string[] } = {}) {
  const calls: string[] = [];
  const ec2: Ec2 = {
    describeAmi(region, ami): Promise<AmiInfo | undefined> {
      calls.push(`describe ${region} ${ami}`);
      const ours = !options.foreign?.includes(ami);
      const hash = [a, b, c, d].find((r) => Object.values(r.amis ?? {}).includes(ami))?.inputHash ?? "";
      const tags: Record<string, string> = ours ? { "podplane:managed-by": "podplane-images", "podplane:input-hash": hash } : {};
      return Promise.resolve({ id: ami, region, name: ami, tags, snapshots: [`snap-${ami}`] });
    },
    deregisterAmi(region, ami) {
      if (options.failDeregister?.includes(ami)) return Promise.reject(Object.assign(new Error("not authorized"), { name: "UnauthorizedOperation" }));
      calls.push(`deregister ${region} ${ami}`);
      return Promise.resolve();
    },
    deleteSnapshot(region, snapshot) {
      calls.push(`delete ${region} ${snapshot}`);
      return Promise.resolve();
    },
    orphanSnapshots: () => Promise.resolve([]),
  };
  return { ec2, calls };
}

async function outDir(images: ImageRecord[], tfvars: unknown): Promise<string> {
  const dir = await tempDir("prune-plan-");
  await writeFile(path.join(dir, "images.json"), JSON.stringify({ version: 1, images }));
  await writeFile(path.join(dir, "images.auto.tfvars.json"), JSON.stringify(tfvars));
  return dir;
}

describe("prune (aws, scripted EC2)", () => {
  it("deregisters before deleting snapshots; a failure in one region keeps the record with the regions left, and is reported", async () => {
    const dir = await outDir([a, b, c], { podplane_images: {} });
    const { ec2, calls } = scriptedEc2({ failDeregister: ["ami-c"] });
    const report = await prune({ dir, dryRun: false, keep: 1, now, ec2: () => Promise.resolve(ec2) });
    expect(calls.filter((c) => !c.startsWith("describe"))).toEqual(["deregister us-east-1 ami-b", "delete us-east-1 snap-ami-b", "deregister eu-west-1 ami-ceu", "delete eu-west-1 snap-ami-ceu"]);
    expect(report.pruned.map((p) => p.name)).toEqual(["b"]);
    expect(report.failed).toEqual([expect.objectContaining({ name: "c", deletedRegions: ["eu-west-1"], error: expect.stringContaining("UnauthorizedOperation") as unknown })]);
    const doc = JSON.parse(await readFile(path.join(dir, "images.json"), "utf8")) as ImagesFile;
    expect(doc.images.map((i) => [i.name, i.amis])).toEqual([
      ["a", a.amis],
      ["c", { "us-east-1": "ami-c" }],
    ]);
  });

  it("one foreign AMI protects every region of its record", async () => {
    const dir = await outDir([a, c], { podplane_images: {} });
    const { ec2, calls } = scriptedEc2({ foreign: ["ami-c"] });
    const report = await prune({ dir, dryRun: false, keep: 1, now, ec2: () => Promise.resolve(ec2) });
    expect(report.refused.map((r) => r.name)).toEqual(["c"]);
    expect(calls.filter((c) => !c.startsWith("describe"))).toEqual([]);
  });

  it("tfvars written with --allow-untested are regenerated the same way: the pointer does not move, so its image survives the next prune too", async () => {
    // The tfvars point at the newest (untested) image, as publish --allow-untested wrote them.
    const dir = await outDir([a, b, c], { podplane_images: { knd: { amd64: a.amis } } });
    const { ec2 } = scriptedEc2();
    await prune({ dir, dryRun: false, keep: 1, now, ec2: () => Promise.resolve(ec2) });
    expect(JSON.parse(await readFile(path.join(dir, "images.auto.tfvars.json"), "utf8"))).toEqual({ podplane_images: { knd: { amd64: a.amis } } });
  });

  it("never asks EC2 anything when no aws image is up for deletion", async () => {
    const dir = await outDir([a], { podplane_images: {} });
    const report = await prune({ dir, dryRun: false, keep: 1, now, ec2: () => Promise.reject(new Error("no AWS here")) });
    expect(report.pruned).toEqual([]);
  });
});
