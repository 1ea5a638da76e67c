// A lock manifest in Podplane's own format for one baked qcow2, written beside it, so Podplane's
// local runner can start the baked image the way it starts its base image: it fetches os.image
// (checked by digest) and boots it by direct kernel boot from os.boot. os.image is the baked
// qcow2 (a file:/// URL, or a URL under --publish-url), os.boot the record read from it, and the
// dependencies and images are the pins the image was baked from. Validated with this tool's
// own manifest loader before it is written: a file we write is one we can read.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { UsageError, WorkError } from "../errors/index.js";
import type { Manifest } from "../manifest/load.js";
import { parseManifest } from "../manifest/load.js";
import type { ArtifactEntry, LockFile } from "../manifest/schema.js";
import { writeFileAtomic } from "./atomic-write.js";

export type OsBoot = NonNullable<LockFile["vmconfig"]["os"]["boot"]>;

export interface PodplaneManifestOptions {
  /** The baked qcow2 (absolute path). */
  qcow2: string;
  /** The lock manifest the image was baked from (its pins become the new manifest's). */
  manifest: Manifest;
  /** os.boot of the baked image (readBootRecord). */
  boot: OsBoot;
  /** os.image.version; default: the qcow2's file name without .qcow2 (the image name). */
  imageVersion?: string;
  /** Where the qcow2 will be served: os.image.url is <publishUrl>/<file name>. Default: a file:/// URL of the qcow2. */
  publishUrl?: string | undefined;
}

export interface WrittenPodplaneManifest {
  file: string;
  lock: LockFile;
}

/** A --publish-url value: an http(s) URL (a trailing slash is dropped). Bad input is a usage error. */
export function parsePublishUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--publish-url ${JSON.stringify(value)}: expected an http(s) URL`, "EUSAGE");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new UsageError(`--publish-url ${JSON.stringify(value)}: expected an http(s) URL, found ${url.protocol}`, "EUSAGE");
  if (url.search || url.hash) throw new UsageError(`--publish-url ${JSON.stringify(value)}: expected no query or fragment`, "EUSAGE");
  return value.replace(/\/+$/, "");
}

/** `<dir>/<image name>.manifest/<kind>.<os>.<arch>.json`: Podplane's file name, in a directory of its own beside the qcow2. */
export function podplaneManifestPath(qcow2: string, manifest: Pick<Manifest, "kind" | "os" | "arch">): string {
  const base = path.basename(qcow2).replace(/\.qcow2$/, "");
  return path.join(path.dirname(qcow2), `${base}.manifest`, `${manifest.kind}.${manifest.os}.${manifest.arch}.json`);
}

async function fileSha512(file: string): Promise<string> {
  const hash = createHash("sha512");
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return `sha512:${hash.digest("hex")}`;
}

/** Our own additions to an entry (trust) are not Podplane's format. */
function podplaneEntry(entry: ArtifactEntry): ArtifactEntry {
  return { version: entry.version, url: entry.url, type: entry.type, digest: entry.digest, size: entry.size };
}

/** The lock manifest for the qcow2 (not written). */
export async function podplaneLockFor(options: PodplaneManifestOptions): Promise<LockFile> {
  const source = options.manifest.lock.vmconfig;
  const name = path.basename(options.qcow2);
  const [digest, info] = await Promise.all([fileSha512(options.qcow2), stat(options.qcow2)]);
  const url = options.publishUrl ? `${parsePublishUrl(options.publishUrl)}/${encodeURIComponent(name)}` : pathToFileURL(path.resolve(options.qcow2)).href;
  return {
    vmconfig: {
      version: source.version,
      kind: source.kind,
      os: {
        name: source.os.name,
        arch: source.os.arch,
        image: { version: options.imageVersion ?? name.replace(/\.qcow2$/, ""), url, type: "qcow2", digest, size: info.size },
        boot: options.boot,
      },
      dependencies: Object.fromEntries(Object.entries(source.dependencies).map(([dep, entry]) => [dep, podplaneEntry(entry)])),
      images: source.images,
    },
  };
}

/** Writes the qcow2's lock manifest beside it (atomically), after validating it with the manifest loader. */
export async function writePodplaneManifest(options: PodplaneManifestOptions): Promise<WrittenPodplaneManifest> {
  const lock = await podplaneLockFor(options);
  const file = podplaneManifestPath(options.qcow2, options.manifest);
  const text = `${JSON.stringify(lock, null, 2)}\n`;
  const { problems } = parseManifest(file, text);
  if (problems.length > 0) throw new WorkError("EPODPLANEMANIFEST", `the Podplane manifest for ${options.qcow2} does not validate:\n${problems.join("\n")}`, { file, problems });
  await writeFileAtomic(file, text);
  return { file, lock };
}
