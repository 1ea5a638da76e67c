// The files the pipeline writes for an image besides the qcow2, whatever its target: its release
// notes (pipeline/diff), its SBOMs (pipeline/sbom) and its provenance statement
// (pipeline/provenance). Only files with exactly the image's own names are taken, so a record
// edited to point elsewhere cannot delete a stranger file. An aws image has nothing else on disk:
// its AMIs and snapshots are prune's other half.
import { lstat } from "node:fs/promises";
import path from "node:path";
import type { ImageRecord } from "../publish/index.js";

export interface ImageFile {
  path: string;
  directory: boolean;
}

type Named = Pick<ImageRecord, "name"> & Partial<Pick<ImageRecord, "qemu" | "sbom" | "provenance" | "releaseNotes">>;

/** Where each side file may be: beside the qcow2 (qemu), in the out dir or its images/ (aws), or where the record says. */
export function sideFileCandidates(record: Named, outDir: string): string[] {
  const names = [`${record.name}.release-notes.md`, `${record.name}.spdx.json`, `${record.name}.cdx.json`, `${record.name}.intoto.jsonl`];
  const dirs = new Set([path.resolve(outDir), path.resolve(outDir, "images")]);
  if (record.qemu?.path) dirs.add(path.resolve(path.dirname(record.qemu.path)));
  for (const file of [record.releaseNotes, record.sbom?.spdx, record.sbom?.cyclonedx, record.provenance?.path]) {
    if (file && names.includes(path.basename(file))) dirs.add(path.resolve(path.dirname(file)));
  }
  return [...dirs].flatMap((dir) => names.map((name) => path.join(dir, name)));
}

/** The files of `candidates` that exist now, each once. */
export async function existingFiles(candidates: readonly string[]): Promise<ImageFile[]> {
  const found: ImageFile[] = [];
  for (const file of [...new Set(candidates)]) {
    try {
      found.push({ path: file, directory: (await lstat(file)).isDirectory() });
    } catch {
      // not there: nothing to delete
    }
  }
  return found;
}

/** The side files of an aws record that exist now. */
export async function awsImageFiles(record: Named, outDir: string): Promise<ImageFile[]> {
  return existingFiles(sideFileCandidates(record, outDir));
}
