// prune takes an image's provenance statement with it: beside the qcow2 for qemu, in
// <out>/images/ for aws (after the AMIs are gone); a statement of a kept image stays.
import { stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { AmiInfo, Ec2 } from "../../pipeline/aws/ownership.js";
import { publishImage } from "../../pipeline/publish/index.js";
import { prune } from "../../pipeline/retention/prune.js";
import { tempDir } from "../helpers/temp-dir.js";
import { publishFixture } from "./fixtures.js";

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

/** EC2 where every AMI exists, carries this tool's tags for `inputHash`, and has one snapshot. */
function fakeEc2(inputHash: string, calls: string[]): Ec2 {
  return {
    describeAmi: (region, ami): Promise<AmiInfo> =>
      Promise.resolve({ id: ami, region, name: ami, tags: { "podplane:managed-by": "podplane-images", "podplane:input-hash": inputHash }, snapshots: [`snap-${ami}`] }),
    deregisterAmi: (region, ami) => {
      calls.push(`deregister ${region} ${ami}`);
      return Promise.resolve();
    },
    deleteSnapshot: (region, snapshot) => {
      calls.push(`delete ${region} ${snapshot}`);
      return Promise.resolve();
    },
    orphanSnapshots: () => Promise.resolve([]),
  };
}

describe("prune and the provenance statement", () => {
  it("qemu: the statement goes with the qcow2; the newer image's stays", async () => {
    const dir = await tempDir("prune-provenance-");
    const old = await publishFixture(dir);
    // A newer image of the same kind/arch/target: `--keep 1` keeps it and prunes the fixture.
    const newer = { ...old.record, name: "podplane-knd-debian-13-amd64-111111111111", createdAt: "2026-12-01T00:00:00.000Z", qemu: { path: path.join(old.out, "images", "podplane-knd-debian-13-amd64-111111111111.qcow2"), digest: `sha256:${"2".repeat(64)}` }, provenance: { path: path.join(old.out, "images", "podplane-knd-debian-13-amd64-111111111111.intoto.jsonl"), signed: false } };
    await writeFile(newer.provenance.path, "{}\n");
    await writeFile(newer.qemu.path, "qcow2");
    await publishImage(old.out, newer, { allowUntested: true });
    const report = await prune({ dir: old.out, keep: 1, dryRun: false, ec2: () => Promise.reject(new Error("no EC2 for qemu")), publish: { allowUntested: true } });
    expect(report.pruned.map((p) => p.name)).toEqual([old.record.name]);
    expect(report.pruned[0]?.files).toContain(old.statementPath);
    expect(await exists(old.statementPath)).toBe(false);
    expect(await exists(old.record.qemu?.path ?? "")).toBe(false);
    expect(await exists(newer.provenance.path)).toBe(true);
  });

  it("aws: once the AMIs are deregistered the statement is deleted; a dry run deletes nothing", async () => {
    const dir = await tempDir("prune-provenance-aws-");
    const old = await publishFixture(dir, { target: "aws" });
    await publishImage(old.out, { ...old.record, name: "podplane-knd-debian-13-amd64-222222222222", createdAt: "2026-12-01T00:00:00.000Z", amis: { "us-east-1": "ami-0ccc" }, provenance: undefined }, { allowUntested: true });
    const calls: string[] = [];
    const dry = await prune({ dir: old.out, keep: 1, dryRun: true, ec2: () => Promise.resolve(fakeEc2(old.record.inputHash, calls)), publish: { allowUntested: true } });
    expect(dry.pruned[0]?.files).toEqual([old.statementPath]);
    expect(await exists(old.statementPath)).toBe(true);
    expect(calls).toEqual([]);
    const report = await prune({ dir: old.out, keep: 1, dryRun: false, ec2: () => Promise.resolve(fakeEc2(old.record.inputHash, calls)), publish: { allowUntested: true } });
    expect(report.pruned.map((p) => [p.name, p.files])).toEqual([[old.record.name, [old.statementPath]]]);
    expect(calls).toContain("deregister us-east-1 ami-0123456789abcdef0");
    expect(await exists(old.statementPath)).toBe(false);
  });
});
