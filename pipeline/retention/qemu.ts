// The files of one qemu image on disk: the qcow2 a bake renamed into <out>/images/, and what the
// pipeline writes beside it per image: the Packer log <out>/logs/<name>.log, the boot test's
// directory <out>/logs/<name>.test/ (serial log, seed), a leftover <out>/.work/<name>/ and the
// provenance statement <name>.intoto.jsonl (beside the qcow2; aws: <out>/images/).
import { lstat, rm } from "node:fs/promises";
import path from "node:path";
import { WorkError } from "../errors/index.js";
import { safeRemove } from "../fs/safe-remove.js";
import type { ImageRecord } from "../publish/index.js";

export interface ImageFile {
  path: string;
  directory: boolean;
}

async function existing(file: string): Promise<ImageFile | undefined> {
  try {
    const info = await lstat(file);
    return { path: file, directory: info.isDirectory() };
  } catch {
    return undefined;
  }
}

function provenanceName(record: ImageRecord): string {
  return `${record.name}.intoto.jsonl`;
}

/** The statement the record names, only under the image's own file name (like the qcow2). */
function provenanceCandidates(record: ImageRecord): string[] {
  const file = record.provenance?.path;
  return file && path.basename(file) === provenanceName(record) ? [path.resolve(file)] : [];
}

/** The provenance statement of an image (qemu or aws) that exists now. */
export async function provenanceFiles(record: ImageRecord, outDir: string): Promise<ImageFile[]> {
  const found: ImageFile[] = [];
  for (const file of new Set([...provenanceCandidates(record), path.resolve(outDir, "images", provenanceName(record))])) {
    const hit = await existing(file);
    if (hit) found.push(hit);
  }
  return found;
}

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
    candidates.push(path.resolve(path.dirname(qcow2), provenanceName(record)));
    if (path.basename(path.dirname(qcow2)) === "images") roots.add(path.resolve(path.dirname(path.dirname(qcow2))));
  }
  candidates.push(...provenanceCandidates(record));
  for (const root of roots) {
    candidates.push(path.join(root, "images", provenanceName(record)));
    candidates.push(path.join(root, "logs", `${record.name}.log`), path.join(root, "logs", `${record.name}.test`), path.join(root, ".work", record.name));
  }
  const found: ImageFile[] = [];
  for (const file of [...new Set(candidates)]) {
    const hit = await existing(file);
    if (hit) found.push(hit);
  }
  return found;
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
