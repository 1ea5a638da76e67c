// The ratios of the boot-method benchmark only say what Podplane's services add to a plain boot
// if the plain base is the very image the baked one was made from. A build's images.json records
// that base (baseImage: source and digest); the given base must match it by digest, checked
// before anything boots. A Podplane lock manifest records no base, so there it is not checked.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";

export interface RecordedBase {
  source: string;
  digest: string;
}

/** The baseImage of `image`'s qemu record in an images.json document (matched as findBootRecord does); undefined when there is none. */
export function recordedBase(doc: unknown, image: string): RecordedBase | undefined {
  if (!doc || typeof doc !== "object" || !("images" in doc) || !Array.isArray(doc.images)) return undefined;
  const resolved = path.resolve(image);
  const name = path.basename(resolved).replace(/\.qcow2$/, "");
  type Rec = { name?: unknown; target?: unknown; qemu?: { path?: unknown }; baseImage?: { source?: unknown; digest?: unknown } };
  const records = doc.images as Rec[];
  const record = records.find((r) => typeof r.qemu?.path === "string" && path.resolve(r.qemu.path) === resolved) ?? records.find((r) => r.target === "qemu" && r.name === name);
  const base = record?.baseImage;
  if (typeof base?.digest !== "string") return undefined;
  return { source: typeof base.source === "string" ? base.source : "?", digest: base.digest };
}

async function fileDigest(file: string, algorithm: string): Promise<string> {
  const hash = createHash(algorithm);
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return `${algorithm}:${hash.digest("hex")}`;
}

/** How the base relates to the baked image's record ("sha256:… matches …"); throws when it is another base. */
export async function checkBase(recordFile: string, image: string, base: string): Promise<string> {
  const recorded = recordedBase(JSON.parse(await readFile(recordFile, "utf8")) as unknown, image);
  if (!recorded) return `not checked: ${recordFile} records no base image for ${path.basename(image)}`;
  const algorithm = /^(sha256|sha512):/.exec(recorded.digest)?.[1];
  if (!algorithm) throw new Error(`${recordFile}: the base image digest ${JSON.stringify(recorded.digest)} is not sha256:<hex> or sha512:<hex>`);
  const actual = await fileDigest(base, algorithm);
  if (actual !== recorded.digest) throw new Error(`${base} is not the base ${path.basename(image)} was baked from: its record names ${recorded.source} (${recorded.digest}), this file is ${actual}`);
  return `the base ${path.basename(image)} was baked from: ${recorded.source}, ${actual} as ${path.basename(recordFile)} records`;
}
