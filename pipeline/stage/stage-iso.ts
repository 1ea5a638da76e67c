// The stage directory as a read-only ISO9660 image for the qemu build VM (a read-only virtio disk,
// see packer/podplane.pkr.hcl.hbs): the guest mounts it instead of receiving ≈500 MB over SSH,
// whose crypto is slow under TCG.
import { rm } from "node:fs/promises";
import { execa } from "execa";
import { WorkError } from "../errors/index.js";

/** Volume ID of the stage disk; the guest finds it with `blkid -L`. */
export const STAGE_ISO_LABEL = "PODPLANE_STAGE";

export interface StageIsoOptions {
  stageDir: string;
  /** Directories whose contents join the stage's at the disk's root (the bake's scripts). */
  extraDirs?: readonly string[];
  outFile: string;
  label?: string;
  signal?: AbortSignal;
}

/** `genisoimage` with Rock Ridge (-r: upstream file names kept, files world-readable). */
export function stageIsoArgs(o: StageIsoOptions): string[] {
  return ["-quiet", "-r", "-input-charset", "utf-8", "-V", o.label ?? STAGE_ISO_LABEL, "-o", o.outFile, o.stageDir, ...(o.extraDirs ?? [])];
}

export async function writeStageIso(o: StageIsoOptions): Promise<string> {
  await rm(o.outFile, { force: true });
  const result = await execa("genisoimage", stageIsoArgs(o), { stdin: "ignore", reject: false, cancelSignal: o.signal });
  if (result.failed) {
    await rm(o.outFile, { force: true });
    const detail = String(result.stderr ?? "").trim().split("\n").slice(-3).join("; ");
    throw new WorkError("ESTAGEISO", `genisoimage could not pack the stage ${o.stageDir}: ${detail || (result.shortMessage ?? "failed")}`, { stageDir: o.stageDir });
  }
  return o.outFile;
}
