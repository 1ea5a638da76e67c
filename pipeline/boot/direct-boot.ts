// Where `test-image --direct-kernel-boot` gets the image's os.boot record: the images.json a
// build wrote (the record of this qcow2), or a Podplane lock manifest whose os.image is this
// qcow2. Then the kernel and initrd are extracted from the image and checked against the
// record before anything boots.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { UsageError, WorkError } from "../errors/index.js";
import { extractBootFiles, type BootRecord } from "../inspect/index.js";
import { parseManifest } from "../manifest/load.js";
import { parseDigest } from "../manifest/digest.js";
import { IMAGES_FILE, type ImageRecord } from "../publish/images-json.js";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import type { Arch } from "../manifest/schema.js";
import type { DirectBoot } from "./qemu.js";

export interface BootRecordSource {
  boot: BootRecord;
  /** Where the record came from, for messages. */
  from: string;
}

/** images.json of the build that made `image`: the build's --out, the parent of its images/ directory. */
export function defaultImagesJson(image: string): string {
  return path.join(path.dirname(path.dirname(path.resolve(image))), IMAGES_FILE);
}

async function fileDigest(file: string, algorithm: "sha256" | "sha512"): Promise<string> {
  const hash = createHash(algorithm);
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return `${algorithm}:${hash.digest("hex")}`;
}

function refuseArch(file: string, what: string, found: string, arch: Arch | undefined): void {
  if (arch && found !== arch) throw new UsageError(`${file}: ${what} is for ${found}, but ${arch} was asked for (--arch): refusing to boot it as ${arch}`, "EARCH");
}

function fromImagesJson(image: string, file: string, doc: { images?: unknown }, arch: Arch | undefined): BootRecordSource {
  const records = Array.isArray(doc.images) ? (doc.images as ImageRecord[]) : [];
  const resolved = path.resolve(image);
  const name = path.basename(resolved).replace(/\.qcow2$/, "");
  const record = records.find((r) => r.qemu && path.resolve(r.qemu.path) === resolved) ?? records.find((r) => r.target === "qemu" && r.name === name);
  if (!record) throw new UsageError(`${file}: no qemu record of ${image}; pass --boot-record with the images.json or Podplane manifest that describes it`, "ENOBOOTRECORD");
  refuseArch(file, `the record of ${record.name}`, record.arch, arch);
  if (!record.boot) throw new UsageError(`${file}: the record of ${record.name} has no boot block (baked before os.boot was recorded); rebake it or pass --boot-record`, "ENOBOOTRECORD");
  return { boot: record.boot, from: `${file} (${record.name})` };
}

/** A lock manifest: os.boot, once its os.image is shown to be this very qcow2 (by digest). */
async function fromManifest(image: string, file: string, text: string, arch: Arch | undefined): Promise<BootRecordSource> {
  const { manifest, problems } = parseManifest(file, text);
  if (!manifest) throw new UsageError(problems.join("\n"), "EMANIFEST");
  refuseArch(file, "the manifest", manifest.arch, arch);
  const boot = manifest.lock.vmconfig.os.boot;
  if (!boot) throw new UsageError(`${file}: vmconfig.os.boot: expected a direct kernel boot record, found nothing`, "ENOBOOTRECORD");
  const expected = parseDigest(manifest.baseImage.digest);
  if (!expected) throw new UsageError(`${file}: vmconfig.os.image.digest: expected a pinned digest`, "EMANIFEST");
  const actual = await fileDigest(image, expected.algorithm);
  if (actual !== manifest.baseImage.digest) {
    throw new WorkError("EBOOTRECORD", `${file} describes another image: its os.image digest is ${manifest.baseImage.digest}, ${image} has ${actual}`, { file, image, expected: manifest.baseImage.digest, actual });
  }
  return { boot, from: file };
}

/** The os.boot record for `image` from `file` (default: the build's images.json); bad input is a usage error. */
export async function findBootRecord(image: string, file = defaultImagesJson(image), arch?: Arch): Promise<BootRecordSource> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new UsageError(`${file}: cannot read the boot record (${(error as NodeJS.ErrnoException).code ?? String(error)}); pass --boot-record FILE (an images.json or a Podplane manifest)`, "ENOBOOTRECORD", { cause: error });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${file}: expected JSON (an images.json or a Podplane manifest), found a syntax error`, "ENOBOOTRECORD", { cause: error });
  }
  if (doc && typeof doc === "object" && "vmconfig" in doc) return fromManifest(image, file, text, arch);
  if (doc && typeof doc === "object" && "images" in doc) return fromImagesJson(image, file, doc, arch);
  throw new UsageError(`${file}: expected an images.json ({"images": [...]}) or a Podplane manifest ({"vmconfig": ...})`, "ENOBOOTRECORD");
}

/** Extracts the record's kernel and initrd from `image` into `dir`, each checked by digest (an error before any boot). */
export async function prepareDirectBoot(image: string, boot: BootRecord, dir: string, options: { workParent: string; signal?: AbortSignal | undefined }): Promise<DirectBoot> {
  const extracted = await extractBootFiles(image, boot, dir, options);
  return { kernel: extracted.kernel, initrd: extracted.initrd, cmdline: extracted.cmdline };
}
