import { createHash } from "node:crypto";
import { execa } from "execa";
import { chmod, mkdir, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { bakeEnv, writeBakeScripts } from "../../pipeline/image/bake-scripts.js";
import { STAGE_ISO_LABEL, stageIsoArgs, verifyStageIso, writeStageIso, type StagedArtifact } from "../../pipeline/stage/index.js";
import { tempDir } from "../helpers/temp-dir.js";

describe("writeStageIso", () => {
  it("packs the stage with Rock Ridge: upstream file names and paths survive, the label is the one the guest looks up", async () => {
    const dir = await tempDir();
    const stage = path.join(dir, "stage");
    const long = "artifacts/containerd/containerd-2.3.1-linux-amd64.tar.gz";
    await mkdir(path.join(stage, "artifacts", "containerd"), { recursive: true });
    await writeFile(path.join(stage, long), "tgz");
    await writeFile(path.join(stage, "artifacts.tsv"), "containerd\t2.3.1\ttar.gz\tsha256:00\t" + long + "\n");
    await chmod(path.join(stage, long), 0o600);
    const iso = await writeStageIso({ stageDir: stage, outFile: path.join(dir, "stage.iso") });
    const listing = await execa("isoinfo", ["-R", "-f", "-i", iso]);
    const info = await execa("isoinfo", ["-d", "-i", iso]);
    expect(listing.stdout.split("\n")).toEqual(expect.arrayContaining(["/artifacts.tsv", `/${long}`]));
    expect(info.stdout).toContain(`Volume id: ${STAGE_ISO_LABEL}`);
    expect(info.stdout).toMatch(/Rock Ridge signatures version 1 found/);
  });

  it("reports a stage that cannot be packed, leaving no ISO behind", async () => {
    const dir = await tempDir();
    const out = path.join(dir, "stage.iso");
    await expect(writeStageIso({ stageDir: path.join(dir, "missing"), outFile: out })).rejects.toThrow(/genisoimage could not pack the stage/);
    await expect(stat(out)).rejects.toThrow();
  });

  it("uses -r (readable by the install, names kept) and the given label", () => {
    expect(stageIsoArgs({ stageDir: "/s", outFile: "/o.iso", label: "X" })).toEqual(["-quiet", "-r", "-input-charset", "utf-8", "-V", "X", "-o", "/o.iso", "/s"]);
  });
});

describe("the stage disk with the bake's scripts, checked on the host", () => {
  async function stageWith(dir: string, content: string): Promise<StagedArtifact[]> {
    const rel = "artifacts/kubelet/kubelet";
    await mkdir(path.join(dir, "stage", "artifacts", "kubelet"), { recursive: true });
    await writeFile(path.join(dir, "stage", rel), content);
    const digest = `sha256:${createHash("sha256").update("kubelet bytes").digest("hex")}`;
    return [{ name: "kubelet", version: "1.36.1", type: "binary", digest, relativePath: rel, size: 13 }];
  }

  it("joins the bake's directory to the stage at the disk's root, and passes when every artifact in the ISO matches its pin", async () => {
    const dir = await tempDir();
    const artifacts = await stageWith(dir, "kubelet bytes");
    const scripts = await writeBakeScripts(path.join(dir, "extra"), "knc", "NoCloud, None");
    const iso = await writeStageIso({ stageDir: path.join(dir, "stage"), extraDirs: [scripts], outFile: path.join(dir, "stage.iso") });
    const listing = (await execa("isoinfo", ["-R", "-f", "-i", iso])).stdout.split("\n");
    expect(listing).toEqual(expect.arrayContaining(["/artifacts/kubelet/kubelet", "/podplane-bake/build-vm.sh", "/podplane-bake/bake.env", "/podplane-bake/cleanup-image.sh", "/podplane-bake/validate-image.sh"]));
    expect((await execa("isoinfo", ["-R", "-i", iso, "-x", "/podplane-bake/bake.env"])).stdout).toBe("KIND=knc\nDATASOURCES=NoCloud, None");
    await expect(verifyStageIso(iso, artifacts)).resolves.toBeUndefined();
  });

  it("refuses an ISO whose bytes are not the pinned ones, naming the artifact (EINTEGRITY)", async () => {
    const dir = await tempDir();
    const artifacts = await stageWith(dir, "kubelet bytez");
    const iso = await writeStageIso({ stageDir: path.join(dir, "stage"), outFile: path.join(dir, "stage.iso") });
    await expect(verifyStageIso(iso, artifacts)).rejects.toMatchObject({ code: "EINTEGRITY" });
    await expect(verifyStageIso(iso, artifacts)).rejects.toThrow(/kubelet \(artifacts\/kubelet\/kubelet\): expected sha256:[0-9a-f]{64}, found sha256:/);
    // A file the ISO does not hold at all.
    const missing = artifacts.map((a) => ({ ...a, relativePath: "artifacts/kubelet/missing" }));
    const error = (await verifyStageIso(iso, missing).catch((e: unknown) => e)) as { code?: string };
    expect(["ESTAGEISO", "EINTEGRITY"]).toContain(error.code);
  });

  it("bake.env takes only datasource names (no YAML, no shell)", () => {
    expect(bakeEnv("knd", "Ec2, None")).toBe("KIND=knd\nDATASOURCES=Ec2, None\n");
    expect(() => bakeEnv("knd", "NoCloud]\nrunme: x")).toThrow(/datasources/);
    expect(() => bakeEnv("knd", "$(reboot)")).toThrow(/datasources/);
  });
});
