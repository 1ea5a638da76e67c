// The files an aws image has on disk: only what the pipeline writes into the out dir per image
// (its release notes, pipeline/diff/release-notes.ts). The AMIs and snapshots are prune's other half.
import { lstat } from "node:fs/promises";
import path from "node:path";
import type { ImageRecord } from "../publish/index.js";
import type { ImageFile } from "./qemu.js";

/** The files of an aws record that exist now, found by their conventional names under `outDir`. */
export async function awsImageFiles(record: Pick<ImageRecord, "name">, outDir: string): Promise<ImageFile[]> {
  const found: ImageFile[] = [];
  for (const file of [path.resolve(outDir, `${record.name}.release-notes.md`)]) {
    try {
      found.push({ path: file, directory: (await lstat(file)).isDirectory() });
    } catch {
      // not there: nothing to delete
    }
  }
  return found;
}
