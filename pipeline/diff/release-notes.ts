// Release notes written by build beside each image it publishes: the diff against the image
// this one follows (the newest other record of the same kind, os, arch and target in
// images.json, read before the new record is merged in), as `<name>.release-notes.md` beside
// the qcow2 (qemu) or in <out>/images/ (aws). The record names the file in `releaseNotes`; prune
// deletes it with the image.
import path from "node:path";
import type { Manifest } from "../manifest/load.js";
import { writeFileAtomic } from "../publish/atomic-write.js";
import { IMAGES_FILE, readImagesFile, type ImageRecord, type ImagesFile } from "../publish/images-json.js";
import { diffPair, type DiffReport } from "./compare.js";
import { imageSnapshot } from "./image-records.js";
import { renderMarkdown } from "./markdown.js";
import { containerImageRefs, recordSnapshot } from "./snapshot.js";

export const RELEASE_NOTES_SUFFIX = ".release-notes.md";

/** qemu: beside the qcow2; aws: in <out>/images/, where its other side files lie. */
export function releaseNotesPath(outDir: string, record: Pick<ImageRecord, "name" | "qemu">): string {
  const dir = record.qemu ? path.dirname(record.qemu.path) : path.join(outDir, "images");
  return path.resolve(dir, `${record.name}${RELEASE_NOTES_SUFFIX}`);
}

/** The image `record` follows: newest first by createdAt, then by name, so a tie is still one answer. */
export function previousImage(doc: ImagesFile, record: Pick<ImageRecord, "name" | "kind" | "os" | "arch" | "target">): ImageRecord | undefined {
  const same = doc.images.filter((r) => r.kind === record.kind && r.os === record.os && r.arch === record.arch && r.target === record.target && r.name !== record.name);
  same.sort((a, b) => (a.createdAt !== b.createdAt ? (a.createdAt < b.createdAt ? 1 : -1) : a.name < b.name ? 1 : a.name > b.name ? -1 : 0));
  return same[0];
}

export interface ReleaseNotes {
  file: string;
  markdown: string;
  report: DiffReport;
  previous: ImageRecord | undefined;
}

/** The notes of `record` against the previous image of `doc`; `manifest` is what it was baked from (its container images). */
export async function releaseNotesFor(outDir: string, doc: ImagesFile, record: ImageRecord, manifest: Pick<Manifest, "images">): Promise<ReleaseNotes> {
  const previous = previousImage(doc, record);
  const current = recordSnapshot(record, containerImageRefs(manifest.images));
  const before = previous ? await imageSnapshot(previous) : null;
  const report = diffPair({ label: previous?.name ?? "(no previous image)", type: "image" }, before, { label: record.name, type: "image" }, current);
  const what = `${record.kind} ${record.os} ${record.arch} (${record.target})`;
  const summary = previous ? undefined : `First image of ${what}: images.json has no earlier one to compare with; it holds ${current.components.length} components, listed below.`;
  const markdown = renderMarkdown(report, { title: `Release notes: ${record.name}`, ...(summary ? { summary } : {}) });
  return { file: releaseNotesPath(outDir, record), markdown, report, previous };
}

/**
 * Writes the release notes of `record` (atomically) and returns the record naming them. Called
 * by the build just before it publishes the record, so images.json still holds the previous one.
 */
export async function withReleaseNotes(outDir: string, record: ImageRecord, manifest: Pick<Manifest, "images">): Promise<ImageRecord> {
  const doc = await readImagesFile(path.join(outDir, IMAGES_FILE));
  const notes = await releaseNotesFor(outDir, doc, record, manifest);
  await writeFileAtomic(notes.file, notes.markdown);
  return { ...record, releaseNotes: notes.file };
}
