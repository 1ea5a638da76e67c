// prune deletes an image's SBOMs with it: beside the qcow2 for qemu, in the --out dir for aws once
// its AMIs are gone; only files named after the image, never what a record points at elsewhere.
import { mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { Ec2 } from "../../pipeline/aws/ownership.js";
import type { ImageRecord } from "../../pipeline/publish/index.js";
import { prune } from "../../pipeline/retention/prune.js";
import { qemuImageFiles } from "../../pipeline/retention/qemu.js";
import { tempDir } from "../helpers/temp-dir.js";
import { record } from "../publish/records.js";

/** An EC2 whose AMIs all carry this tool's tags for `inputHash`; records what was deleted. */
function fakeEc2(inputHash: string, deleted: string[]): Ec2 {
  return {
    describeAmi: (region, ami) => Promise.resolve({ id: ami, region, name: undefined, tags: { "podplane:managed-by": "podplane-images", "podplane:input-hash": inputHash }, snapshots: [`snap-${ami}`] }),
    deregisterAmi: (_region, ami) => Promise.resolve(void deleted.push(ami)),
    deleteSnapshot: (_region, snapshot) => Promise.resolve(void deleted.push(snapshot)),
    orphanSnapshots: () => Promise.resolve([]),
  };
}

describe("prune and the SBOM files", () => {
  it("qemu: the two SBOMs beside the qcow2 are among the image's files; a stranger file a record names is not", async () => {
    const out = await tempDir("sbom-prune-q-");
    const images = path.join(out, "images");
    await mkdir(images);
    const r = record({ qemu: { path: path.join(images, "podplane-knd-debian-13-amd64-aaaaaaaaaaaa.qcow2"), digest: `sha256:${"b".repeat(64)}` } });
    for (const f of [`${r.name}.qcow2`, `${r.name}.spdx.json`, `${r.name}.cdx.json`, "other.spdx.json"]) await writeFile(path.join(images, f), "x");
    const withSbom: ImageRecord = { ...r, sbom: { spdx: path.join(images, "other.spdx.json"), cyclonedx: path.join(images, `${r.name}.cdx.json`) } };
    const files = (await qemuImageFiles(withSbom, out)).map((f) => path.basename(f.path)).sort();
    expect(files).toEqual([`${r.name}.cdx.json`, `${r.name}.qcow2`, `${r.name}.spdx.json`]);
  });

  it("aws: once the AMIs are deregistered the SBOMs in the --out dir go, and the report lists them; a dry run keeps them", async () => {
    const out = await tempDir("sbom-prune-a-");
    const make = (name: string, createdAt: string, ami: string): ImageRecord => {
      const r = record({ name, target: "aws", createdAt, amis: { "us-east-1": ami } });
      delete r.qemu;
      return { ...r, sbom: { spdx: path.join(out, `${name}.spdx.json`), cyclonedx: path.join(out, `${name}.cdx.json`) } };
    };
    const old = make("podplane-knd-debian-13-amd64-111111111111", "2026-11-01T00:00:00.000Z", "ami-00000000000000001");
    const current = make("podplane-knd-debian-13-amd64-222222222222", "2026-11-20T00:00:00.000Z", "ami-00000000000000002");
    for (const r of [old, current]) for (const f of [r.sbom!.spdx, r.sbom!.cyclonedx]) await writeFile(f, "{}");
    await writeFile(path.join(out, "images.json"), JSON.stringify({ version: 1, images: [old, current] }));
    const deleted: string[] = [];
    const options = { dir: out, keep: 1, now: new Date("2026-11-30T00:00:00Z"), ec2: () => Promise.resolve(fakeEc2(old.inputHash, deleted)), publish: { allowUntested: true, awsOwner: "self" } };

    const dry = await prune({ ...options, dryRun: true });
    expect(dry.pruned.map((p) => p.files.map((f) => path.basename(f)).sort())).toEqual([[`${old.name}.cdx.json`, `${old.name}.spdx.json`]]);
    expect((await readdir(out)).filter((f) => f.startsWith(old.name))).toHaveLength(2);

    const report = await prune({ ...options, dryRun: false });
    expect(deleted).toEqual(["ami-00000000000000001", "snap-ami-00000000000000001"]);
    expect(report.pruned[0]?.files.map((f) => path.basename(f)).sort()).toEqual([`${old.name}.cdx.json`, `${old.name}.spdx.json`]);
    const left = await readdir(out);
    expect(left.filter((f) => f.startsWith(old.name))).toEqual([]);
    expect(left.filter((f) => f.startsWith(current.name)).sort()).toEqual([`${current.name}.cdx.json`, `${current.name}.spdx.json`]);
    const doc = JSON.parse(await readFile(path.join(out, "images.json"), "utf8")) as { images: ImageRecord[] };
    expect(doc.images.map((i) => i.name)).toEqual([current.name]);
  });
});
