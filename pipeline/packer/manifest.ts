// Packer's manifest post-processor output: the source of the artifact IDs we publish.
import { readFile } from "node:fs/promises";
import { WorkError } from "../errors/index.js";

export interface PackerManifestBuild {
  name: string;
  builderType: string;
  buildTime: number;
  files: { name: string; size: number }[];
  artifactId: string;
  runUuid: string;
  customData: Record<string, string>;
}

interface RawBuild {
  name?: unknown;
  builder_type?: unknown;
  build_time?: unknown;
  files?: unknown;
  artifact_id?: unknown;
  packer_run_uuid?: unknown;
  custom_data?: unknown;
}

function asString(value: unknown): string {
  return typeof value === "string" ? value : "";
}

export function parsePackerManifest(text: string, file = "packer-manifest.json"): { builds: PackerManifestBuild[]; lastRunUuid: string } {
  let raw: { builds?: unknown; last_run_uuid?: unknown };
  try {
    raw = JSON.parse(text) as typeof raw;
  } catch (error) {
    throw new WorkError("EPACKERMANIFEST", `${file}: expected JSON from the manifest post-processor, found a syntax error`, { file }, { cause: error });
  }
  if (!Array.isArray(raw.builds)) throw new WorkError("EPACKERMANIFEST", `${file}: expected a "builds" array`, { file });
  const builds = (raw.builds as RawBuild[]).map((b) => ({
    name: asString(b.name),
    builderType: asString(b.builder_type),
    buildTime: typeof b.build_time === "number" ? b.build_time : 0,
    files: Array.isArray(b.files)
      ? (b.files as { name?: unknown; size?: unknown }[]).map((f) => ({ name: asString(f.name), size: typeof f.size === "number" ? f.size : 0 }))
      : [],
    artifactId: asString(b.artifact_id),
    runUuid: asString(b.packer_run_uuid),
    customData: b.custom_data && typeof b.custom_data === "object" ? Object.fromEntries(Object.entries(b.custom_data).map(([k, v]) => [k, asString(v)])) : {},
  }));
  return { builds, lastRunUuid: asString(raw.last_run_uuid) };
}

/** The build of the last run (the post-processor appends to an existing file). */
export async function readLastBuild(file: string): Promise<PackerManifestBuild> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new WorkError("EPACKERMANIFEST", `${file}: Packer wrote no manifest (did the manifest post-processor run?)`, { file }, { cause: error });
  }
  const { builds, lastRunUuid } = parsePackerManifest(text, file);
  const last = builds.filter((b) => !lastRunUuid || b.runUuid === lastRunUuid).at(-1);
  if (!last) throw new WorkError("EPACKERMANIFEST", `${file}: no build of the last run (${lastRunUuid})`, { file });
  return last;
}

/** `us-east-1:ami-1,eu-west-1:ami-2` → { "us-east-1": "ami-1", "eu-west-1": "ami-2" }. */
export function parseAmiArtifactId(artifactId: string): Record<string, string> {
  const regions: Record<string, string> = {};
  for (const part of artifactId.split(",").map((p) => p.trim()).filter(Boolean)) {
    const match = /^([a-z]{2}(?:-[a-z]+)+-\d+):(ami-[0-9a-f]+)$/.exec(part);
    if (!match?.[1] || !match[2]) throw new WorkError("EPACKERMANIFEST", `expected region:ami-id in the artifact ID, found ${JSON.stringify(part)}`, { artifactId });
    regions[match[1]] = match[2];
  }
  if (Object.keys(regions).length === 0) throw new WorkError("EPACKERMANIFEST", `expected at least one region:ami-id, found ${JSON.stringify(artifactId)}`, { artifactId });
  return regions;
}
