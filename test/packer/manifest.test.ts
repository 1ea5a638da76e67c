import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { parseAmiArtifactId, parsePackerManifest, readLastBuild } from "../../pipeline/packer/index.js";

const manifest = {
  builds: [
    { name: "podplane", builder_type: "qemu", build_time: 1, files: [{ name: "/o/old.qcow2", size: 1 }], artifact_id: "VM", packer_run_uuid: "run-1", custom_data: { input_hash: "a" } },
    { name: "podplane", builder_type: "amazon-ebs", build_time: 2, files: null, artifact_id: "us-east-1:ami-0abc,eu-west-1:ami-0def", packer_run_uuid: "run-2", custom_data: { input_hash: "b" } },
  ],
  last_run_uuid: "run-2",
};

describe("manifest post-processor output", () => {
  it("parses the builds and picks the one of the last run", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "pm-"));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const file = path.join(dir, "packer-manifest.json");
    await writeFile(file, JSON.stringify(manifest));
    const last = await readLastBuild(file);
    expect(last).toMatchObject({ builderType: "amazon-ebs", runUuid: "run-2", files: [], customData: { input_hash: "b" } });
    expect(parsePackerManifest(JSON.stringify(manifest)).builds[0]?.files).toEqual([{ name: "/o/old.qcow2", size: 1 }]);
  });

  it("reports a missing or broken manifest with its path", async () => {
    await expect(readLastBuild("/nonexistent/packer-manifest.json")).rejects.toThrow(/\/nonexistent\/packer-manifest.json: Packer wrote no manifest/);
    expect(() => parsePackerManifest("{", "m.json")).toThrow(/m.json: expected JSON/);
    expect(() => parsePackerManifest("{}", "m.json")).toThrow(/"builds" array/);
  });

  it("parses single- and multi-region AMI artifact IDs", () => {
    expect(parseAmiArtifactId("us-east-1:ami-0123456789abcdef0")).toEqual({ "us-east-1": "ami-0123456789abcdef0" });
    expect(parseAmiArtifactId("us-east-1:ami-0abc,eu-west-1:ami-0def,ap-southeast-2:ami-0fed")).toEqual({ "us-east-1": "ami-0abc", "eu-west-1": "ami-0def", "ap-southeast-2": "ami-0fed" });
    expect(parseAmiArtifactId("us-gov-west-1:ami-1")).toEqual({ "us-gov-west-1": "ami-1" });
  });

  it("refuses what is not region:ami", () => {
    expect(() => parseAmiArtifactId("VM")).toThrow(/expected region:ami-id/);
    expect(() => parseAmiArtifactId("us-east-1:ami-1,eu-west-1")).toThrow(/"eu-west-1"/);
    expect(() => parseAmiArtifactId("")).toThrow(/at least one/);
  });
});
