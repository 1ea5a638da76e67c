// The in-toto Statement v1 with a SLSA Provenance v1 predicate that says how an image was made.
// Pure: every value comes in through ProvenanceInput, so a test can build one without a bake.
//
// Subjects. A qcow2 is `<name>.qcow2` with its sha256. An AMI has no content digest and in-toto
// requires one per subject, so an aws image's subject is `<name>.amis.json`: the sha256 of the
// canonical AMI document amiDocument() returns (`{"name":…,"amis":{region: id, …}}`, regions
// sorted, no whitespace), which anyone can rebuild from images.json; each AMI is also listed as
// a byproduct (`ami:<region>/<id>`, with its ARN as uri).
//
// resolvedDependencies are the inputs of the input hash (pipeline/image/input-hash.ts), each with
// `annotations.role`: "artifact" (a lock manifest dependency), "container-image", "vmconfig"
// (the packed archive), "packer" (the digest over packer/ the hash uses) and "packer-file" (each
// file under packer/), "base-image" (a qcow2 digest, or for aws the AMI filter as uri).
import { createHash } from "node:crypto";
import type { ImageRecord } from "../publish/images-json.js";
import type { Manifest } from "../manifest/load.js";

export const STATEMENT_TYPE = "https://in-toto.io/Statement/v1";
export const SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1";
export const TOOL_URI = "https://github.com/podplane/podplane-images";
/** What buildDefinition means: docs/release-engineering.md describes its parameters. */
export const BUILD_TYPE = `${TOOL_URI}/blob/main/docs/release-engineering.md#build-type-v1-the-statement`;

export type DigestSet = Record<string, string>;

export interface ResourceDescriptor {
  name?: string;
  uri?: string;
  digest?: DigestSet;
  annotations?: Record<string, unknown>;
}

export type DependencyRole = "artifact" | "container-image" | "vmconfig" | "packer" | "packer-file" | "base-image";

export interface Statement {
  _type: typeof STATEMENT_TYPE;
  subject: Array<{ name: string; digest: DigestSet }>;
  predicateType: typeof SLSA_PROVENANCE_V1;
  predicate: {
    buildDefinition: {
      buildType: string;
      externalParameters: BuildParameters;
      internalParameters: Record<string, unknown>;
      resolvedDependencies: ResourceDescriptor[];
    };
    runDetails: {
      builder: { id: string; version: Record<string, string>; builderDependencies: ResourceDescriptor[] };
      metadata: { invocationId: string; startedOn: string; finishedOn: string };
      byproducts: ResourceDescriptor[];
    };
  };
}

/** The build flags that shaped this image (no secrets: a KMS key is named by its ARN, never a credential). */
export interface BuildParameters {
  kind: string;
  arch: string;
  os: string;
  target: "qemu" | "aws";
  /** qemu only: the base the image starts from. */
  base?: string;
  skipTest?: boolean;
  publishUrl?: string;
  aws?: { region: string; amiRegions?: string[]; amiUsers?: string[]; amiGroups?: string[]; kmsKeyId?: string };
}

export interface ProvenanceInput {
  record: Pick<ImageRecord, "name" | "target" | "inputHash" | "qemu" | "amis" | "packerVersion" | "createdAt">;
  manifest: Pick<Manifest, "version" | "dependencies" | "images">;
  parameters: BuildParameters;
  vmconfigDigest: string;
  templateDigest: string;
  /** Each file under packer/ (path relative to it) with its digest. */
  packerFiles: ReadonlyArray<{ path: string; digest: string }>;
  base: { source: string; digest: string };
  toolVersion: string;
  imageFormatVersion: number;
  accelerator?: string | undefined;
  /** The Podplane lock manifest written beside a qcow2, with its digest. */
  podplaneManifest?: { path: string; digest: string } | undefined;
  startedOn: Date;
  finishedOn: Date;
}

/** `sha256:<hex>` → `{sha256: "<hex>"}`; undefined for what is not an `alg:hex` digest (an AMI filter). */
export function digestSet(digest: string): DigestSet | undefined {
  const match = /^(sha256|sha512):([0-9a-f]+)$/.exec(digest);
  return match ? { [match[1] as string]: match[2] as string } : undefined;
}

/** The canonical bytes an aws subject's digest is taken over. */
export function amiDocument(name: string, amis: Record<string, string>): string {
  const sorted = Object.fromEntries(Object.entries(amis).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return JSON.stringify({ name, amis: sorted });
}

export function subjectsOf(record: ProvenanceInput["record"]): Statement["subject"] {
  if (record.qemu) return [{ name: `${record.name}.qcow2`, digest: digestSet(record.qemu.digest) ?? {} }];
  const doc = amiDocument(record.name, record.amis ?? {});
  return [{ name: `${record.name}.amis.json`, digest: { sha256: createHash("sha256").update(doc).digest("hex") } }];
}

function withDigest(descriptor: ResourceDescriptor, digest: string): ResourceDescriptor {
  const set = digestSet(digest);
  return set ? { ...descriptor, digest: set } : descriptor;
}

export function containerImageName(image: { image: string; platform: string }): string {
  return `${image.image} ${image.platform}`;
}

function byName<T extends { name?: string | undefined }>(a: T, b: T): number {
  const [x, y] = [a.name ?? "", b.name ?? ""];
  return x < y ? -1 : x > y ? 1 : 0;
}

export function resolvedDependencies(input: ProvenanceInput): ResourceDescriptor[] {
  const m = input.manifest;
  const artifacts = m.dependencies
    .filter((d) => !d.local)
    .map((d) => withDigest({ name: d.name, uri: d.url, annotations: { role: "artifact", version: d.version, type: d.type, size: d.size } }, d.digest))
    .sort(byName);
  const images = m.images
    .map((i) => withDigest({ name: containerImageName(i), annotations: { role: "container-image", image: i.image, platform: i.platform, index: i.index, size: i.size } }, i.digest))
    .sort(byName);
  const base = digestSet(input.base.digest)
    ? withDigest({ name: "base-image", uri: input.base.source, annotations: { role: "base-image" } }, input.base.digest)
    : { name: "base-image", uri: input.base.digest, annotations: { role: "base-image", source: input.base.source } };
  const packerFiles = [...input.packerFiles]
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((f) => withDigest({ name: `packer/${f.path}`, annotations: { role: "packer-file" } }, f.digest));
  return [
    ...artifacts,
    ...images,
    withDigest({ name: "vmconfig.tar.gz", annotations: { role: "vmconfig", version: m.version } }, input.vmconfigDigest),
    withDigest({ name: "packer", annotations: { role: "packer", digestOf: "every file under packer/ by relative path (pipeline/packer/template-digest.ts)" } }, input.templateDigest),
    ...packerFiles,
    base,
  ];
}

function byproducts(input: ProvenanceInput): ResourceDescriptor[] {
  const out: ResourceDescriptor[] = [];
  for (const [region, ami] of Object.entries(input.record.amis ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    out.push({ name: `ami:${region}/${ami}`, uri: `arn:aws:ec2:${region}::image/${ami}`, annotations: { region, imageId: ami } });
  }
  if (input.podplaneManifest) out.push(withDigest({ name: "podplane-manifest", uri: `file://${input.podplaneManifest.path}` }, input.podplaneManifest.digest));
  return out;
}

export function buildStatement(input: ProvenanceInput): Statement {
  const r = input.record;
  return {
    _type: STATEMENT_TYPE,
    subject: subjectsOf(r),
    predicateType: SLSA_PROVENANCE_V1,
    predicate: {
      buildDefinition: {
        buildType: BUILD_TYPE,
        externalParameters: input.parameters,
        internalParameters: { inputHash: r.inputHash, imageFormatVersion: input.imageFormatVersion, ...(input.accelerator ? { accelerator: input.accelerator } : {}) },
        resolvedDependencies: resolvedDependencies(input),
      },
      runDetails: {
        builder: {
          id: `${TOOL_URI}@v${input.toolVersion}`,
          version: { "podplane-images": input.toolVersion, packer: r.packerVersion },
          builderDependencies: [{ name: "packer", uri: `pkg:generic/packer@${r.packerVersion}` }],
        },
        metadata: { invocationId: `${r.name}@${r.createdAt}`, startedOn: input.startedOn.toISOString(), finishedOn: input.finishedOn.toISOString() },
        byproducts: byproducts(input),
      },
    },
  };
}
