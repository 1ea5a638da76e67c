// Load and validate lock manifests. Every problem is reported with the file, the JSON path,
// what was expected and what was found; loading throws one UsageError (exit 2) listing them all.
import { readFile, readdir } from "node:fs/promises";
import path from "node:path";
import type { ZodIssue } from "zod";
import { UsageError } from "../errors/index.js";
import { digestToIntegrity } from "./digest.js";
import {
  ARCHES,
  KINDS,
  lockFileSchema,
  type Arch,
  type ArtifactEntry,
  type ArtifactType,
  type ContainerImage,
  type Kind,
  type LockFile,
} from "./schema.js";

/** One dependency (or the base image) of one manifest, with its digest also as SRI. */
export interface Artifact {
  name: string;
  version: string;
  url: string;
  type: ArtifactType;
  /** As written in the file: `sha256:<hex>`, or "" when not pinned. */
  digest: string;
  /** The same digest as SRI, for ssri; undefined when not pinned. */
  integrity: string | undefined;
  size: number;
  /** Built from this repository (the vmconfig entry with an empty url), not fetched. */
  local: boolean;
}

export interface Manifest {
  file: string;
  kind: Kind;
  os: string;
  arch: Arch;
  version: string;
  baseImage: Artifact;
  dependencies: Artifact[];
  images: ContainerImage[];
  lock: LockFile;
}

export interface ManifestSelection {
  kinds?: readonly Kind[];
  arches?: readonly Arch[];
  os?: readonly string[];
}

const MANIFEST_NAME = /^(knd|knc)\.([a-z]+-\d+)\.(amd64|arm64)\.json$/;

export class ManifestError extends UsageError {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(problems.join("\n"), "EMANIFEST");
    this.problems = problems;
  }
}

function describeFound(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function valueAt(root: unknown, issuePath: readonly (string | number)[]): unknown {
  let node: unknown = root;
  for (const key of issuePath) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<string | number, unknown>)[key];
  }
  return node;
}

function jsonPath(issuePath: readonly (string | number)[]): string {
  if (issuePath.length === 0) return "(root)";
  return issuePath.map((key, i) => (typeof key === "number" ? `[${key}]` : i === 0 ? key : `.${key}`)).join("");
}

function describeIssue(file: string, raw: unknown, issue: ZodIssue): string {
  const found = valueAt(raw, issue.path);
  let expected = issue.message;
  if (issue.code === "invalid_type") expected = `expected ${issue.expected}`;
  if (issue.code === "unrecognized_keys") {
    return `${file}: ${jsonPath(issue.path)}: expected no other keys, found ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}`;
  }
  if (issue.code === "invalid_enum_value") expected = `expected one of ${issue.options.map(String).join(", ")}`;
  if (issue.code === "invalid_literal") expected = `expected ${JSON.stringify(issue.expected)}`;
  if (!expected.startsWith("expected")) expected = `expected ${expected}`;
  return `${file}: ${jsonPath(issue.path)}: ${expected}, found ${describeFound(found)}`;
}

function toArtifact(name: string, entry: ArtifactEntry): Artifact {
  return {
    name,
    version: entry.version,
    url: entry.url,
    type: entry.type,
    digest: entry.digest,
    integrity: entry.digest === "" ? undefined : digestToIntegrity(entry.digest),
    size: entry.size,
    local: entry.url === "",
  };
}

/** Rules across fields that a per-field schema cannot express. */
function crossFieldProblems(file: string, lock: LockFile): string[] {
  const problems: string[] = [];
  const base = path.basename(file);
  const match = MANIFEST_NAME.exec(base);
  const v = lock.vmconfig;
  if (match) {
    const [, kind, os, arch] = match;
    if (v.kind !== kind) problems.push(`${file}: vmconfig.kind: expected "${kind}" (from the file name), found "${v.kind}"`);
    if (v.os.name !== os) problems.push(`${file}: vmconfig.os.name: expected "${os}" (from the file name), found "${v.os.name}"`);
    if (v.os.arch !== arch) problems.push(`${file}: vmconfig.os.arch: expected "${arch}" (from the file name), found "${v.os.arch}"`);
  } else {
    problems.push(`${file}: file name: expected <knd|knc>.<os>.<amd64|arm64>.json, found "${base}"`);
  }
  for (const [name, entry] of Object.entries(v.dependencies)) {
    const at = `${file}: vmconfig.dependencies.${name}`;
    if (entry.url === "" && name !== "vmconfig") problems.push(`${at}.url: expected an http(s) URL (only vmconfig is built locally), found ""`);
    if (entry.url === "" && entry.digest !== "") problems.push(`${at}.digest: expected "" for an artifact built from this repository, found "${entry.digest}"`);
    if (entry.digest !== "" && entry.size === 0) problems.push(`${at}.size: expected the size in bytes of the pinned artifact, found 0`);
    const wantsArch = entry.url.includes(`${v.os.arch}`) || entry.url === "";
    if (!wantsArch) problems.push(`${at}.url: expected a URL for arch ${v.os.arch}, found ${JSON.stringify(entry.url)}`);
  }
  if (lock.vmconfig.os.image.digest === "") problems.push(`${file}: vmconfig.os.image.digest: expected a pinned digest, found ""`);
  for (const [i, image] of v.images.entries()) {
    if (image.platform !== `linux/${v.os.arch}`) problems.push(`${file}: vmconfig.images[${i}].platform: expected "linux/${v.os.arch}", found "${image.platform}"`);
  }
  return problems;
}

/** Parses and validates one manifest's text; returns the problems instead of throwing. */
export function parseManifest(file: string, text: string): { manifest?: Manifest; problems: string[] } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return { problems: [`${file}: (root): expected valid JSON, found a syntax error: ${(error as Error).message}`] };
  }
  const result = lockFileSchema.safeParse(raw);
  if (!result.success) return { problems: result.error.issues.map((issue) => describeIssue(file, raw, issue)) };
  const lock = result.data;
  const problems = crossFieldProblems(file, lock);
  if (problems.length > 0) return { problems };
  const v = lock.vmconfig;
  return {
    problems: [],
    manifest: {
      file,
      kind: v.kind,
      os: v.os.name,
      arch: v.os.arch,
      version: v.version,
      baseImage: toArtifact("base-image", v.os.image),
      dependencies: Object.entries(v.dependencies)
        .map(([name, entry]) => toArtifact(name, entry))
        .sort((a, b) => a.name.localeCompare(b.name)),
      images: v.images,
      lock,
    },
  };
}

export async function loadManifest(file: string): Promise<Manifest> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new UsageError(`${file}: cannot read manifest: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, "EMANIFEST", { cause: error });
  }
  const { manifest, problems } = parseManifest(file, text);
  if (!manifest) throw new ManifestError(problems);
  return manifest;
}

/** Loads every manifest in `dir` matching the selection; all problems of all files are reported together. */
export async function loadManifests(dir: string, selection: ManifestSelection = {}): Promise<Manifest[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((name) => name.endsWith(".json")).sort();
  } catch (error) {
    throw new UsageError(`${dir}: cannot read the manifests directory: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, "EMANIFEST", { cause: error });
  }
  const kinds = selection.kinds ?? KINDS;
  const arches = selection.arches ?? ARCHES;
  const wanted = names.filter((name) => {
    const match = MANIFEST_NAME.exec(name);
    if (!match) return true; // reported as a bad file name by the validator
    const [, kind, os, arch] = match;
    return kinds.includes(kind as Kind) && arches.includes(arch as Arch) && (!selection.os || selection.os.includes(os ?? ""));
  });
  const problems: string[] = [];
  const manifests: Manifest[] = [];
  for (const name of wanted) {
    const file = path.join(dir, name);
    const { manifest, problems: found } = parseManifest(file, await readFile(file, "utf8"));
    if (manifest) manifests.push(manifest);
    problems.push(...found);
  }
  if (problems.length > 0) throw new ManifestError(problems);
  if (manifests.length === 0) {
    throw new UsageError(`${dir}: no manifest for kind ${kinds.join(",")} arch ${arches.join(",")}${selection.os ? ` os ${selection.os.join(",")}` : ""}`, "EMANIFEST");
  }
  return manifests;
}
