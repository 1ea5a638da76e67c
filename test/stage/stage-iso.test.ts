import { execa } from "execa";
import { chmod, mkdir, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { STAGE_ISO_LABEL, stageIsoArgs, writeStageIso } from "../../pipeline/stage/index.js";
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
