// Sides of `diff --images FILE A B`: records of a published images.json, by image name.
// A record lists its dependencies, vmconfig digest and base image but not its container images;
// those are read from the Podplane lock manifest a qemu bake writes beside its qcow2 (the
// record's podplaneManifest), and are "not recorded" when that file is not there (aws).
import { readFile } from "node:fs/promises";
import { UsageError } from "../errors/index.js";
import { parseManifest } from "../manifest/load.js";
import type { ImageRecord, ImagesFile } from "../publish/images-json.js";
import { containerImageRefs, recordSnapshot, type ContainerImageRef, type Snapshot } from "./snapshot.js";

/** The one record named `name` (of `target` when given); exit 2 naming what is missing or ambiguous. */
export function findRecord(doc: ImagesFile, file: string, name: string, target?: string): ImageRecord {
  const named = doc.images.filter((r) => r.name === name);
  const matches = target ? named.filter((r) => r.target === target) : named;
  if (matches.length === 1 && matches[0]) return matches[0];
  if (matches.length === 0) {
    const where = target && named.length > 0 ? ` with target ${target} (it has ${named.map((r) => r.target).join(", ")})` : "";
    throw new UsageError(`${name}: no image of that name${where} in ${file}`, "ENOIMAGE");
  }
  throw new UsageError(`${name}: ${file} has it for targets ${matches.map((r) => r.target).join(" and ")}; choose one with --target`, "EAMBIGUOUS");
}

/** The container images of a record's Podplane manifest, or null when there is none to read. */
export async function recordedContainerImages(record: ImageRecord): Promise<ContainerImageRef[] | null> {
  if (!record.podplaneManifest) return null;
  let text: string;
  try {
    text = await readFile(record.podplaneManifest, "utf8");
  } catch {
    return null;
  }
  const { manifest } = parseManifest(record.podplaneManifest, text);
  return manifest ? containerImageRefs(manifest.images) : null;
}

export async function imageSnapshot(record: ImageRecord): Promise<Snapshot> {
  return recordSnapshot(record, await recordedContainerImages(record));
}
