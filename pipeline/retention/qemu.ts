// The files of one qemu image on disk: the qcow2 a bake renamed into <out>/images/, and what the
// pipeline writes beside it per image: the Packer log <out>/logs/<name>.log, the boot test's
// directory <out>/logs/<name>.test/ (serial log, seed), a leftover <out>/.work/<name>/, and the
// side files every image has (release notes, SBOMs, provenance: side-files.ts).
import { rm } from "node:fs/promises";
import path from "node:path";
import { WorkError } from "../errors/index.js";
import { safeRemove } from "../fs/safe-remove.js";
import type { ImageRecord } from "../publish/index.js";
import { existingFiles, sideFileCandidates, type ImageFile } from "./side-files.js";

export type { ImageFile } from "./side-files.js";

/**
 * The files of a qemu record that exist now. The qcow2 is only taken when its file name is the
 * image's (`<name>.qcow2`), so a record edited to point elsewhere cannot delete a stranger file.
 * Side files are looked for under `outDir` and under the out dir the qcow2 lies in.
 */
export async function qemuImageFiles(record: ImageRecord, outDir: string): Promise<ImageFile[]> {
  const qcow2 = record.qemu?.path;
  const roots = new Set([path.resolve(outDir)]);
  const candidates: string[] = [];
  if (qcow2 && path.basename(qcow2) === `${record.name}.qcow2`) {
    candidates.push(path.resolve(qcow2));
    // The Podplane lock manifest the bake writes beside the qcow2 points at it: it goes with it.
    candidates.push(path.resolve(path.dirname(qcow2), `${record.name}.manifest`));
    if (path.basename(path.dirname(qcow2)) === "images") roots.add(path.resolve(path.dirname(path.dirname(qcow2))));
  }
  for (const root of roots) {
    candidates.push(path.join(root, "logs", `${record.name}.log`), path.join(root, "logs", `${record.name}.test`), path.join(root, ".work", record.name));
  }
  // Release notes, SBOMs, provenance (side-files.ts): the same for both targets.
  candidates.push(...sideFileCandidates(record, outDir));
  return existingFiles(candidates);
}

/** Deletes the files; a directory goes through safeRemove (a test dir may hold a mount). */
export async function deleteImageFiles(files: readonly ImageFile[]): Promise<void> {
  for (const file of files) {
    try {
      if (file.directory) await safeRemove(file.path);
      else await rm(file.path, { force: true });
    } catch (error) {
      if (error instanceof WorkError) throw error;
      throw new WorkError("EPRUNEFILE", `cannot remove ${file.path}: ${(error as Error).message}`, { path: file.path }, { cause: error });
    }
  }
}
