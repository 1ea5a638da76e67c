// The Nstance fragment: the `images` block of an Nstance server's config.jsonc that lets a
// template say `"ImageId": "{{ .Image.podplane_knc_debian_13_amd64 }}"` and get the newest AMI
// this tool published. Nstance resolves each entry itself (EC2 DescribeImages with the filters
// and owners, sorted by creation date, newest first) and falls back to the literal `fallback`
// ID when the lookup fails, so a cluster picks up nightly images without a config change.
//
// Field names, types and allowed values follow nstance-dev/nstance
// internal/server/config/types.go (ImageConfig, ImageFilter, Config.Validate) and
// internal/server/images/aws.go (how the entry is resolved). One Nstance shard runs in one
// region and `fallback` is one AMI ID, so there is one fragment per region.
import { readdir, rm } from "node:fs/promises";
import path from "node:path";
import { UsageError, WorkError } from "../errors/index.js";
import { SHORT_HASH_LENGTH, imageName } from "../image/input-hash.js";

/** `nstance-images.<region>.json` beside images.json. */
export const NSTANCE_FILE_PREFIX = "nstance-images.";
export const NSTANCE_FILE_SUFFIX = ".json";

/** Where the owner account of published AMIs comes from when publish is not told. */
export const AWS_OWNER_ENV = "PODPLANE_IMAGES_AWS_OWNER";

/** One entry of Nstance's `images` map (Go: config.ImageConfig, JSON tags as written here). */
export interface NstanceImageConfig {
  provider: "aws";
  filters: Array<{ name: string; values: string[] }>;
  owners: string[];
  sort: "creation-date";
  order: "desc";
  fallback: string;
}

export interface NstanceFragment {
  images: Record<string, NstanceImageConfig>;
}

/** What the fragment needs of a published image. */
export interface NstanceSource {
  kind: string;
  arch: string;
  os: string;
  /** region → AMI ID: the AMI a fallback points at. */
  amis: Record<string, string>;
}

// Nstance's isValidTemplateIdentifier: the key is used as `.Image.<key>` in a Go template.
const TEMPLATE_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
// Real IDs are hex; letters are tolerated so fixtures read well, garbage is not.
const AMI_ID = /^ami-[0-9A-Za-z]+$/;
// EC2 architecture filter values (DescribeImages `architecture`), by our arch names.
const EC2_ARCHITECTURE: Record<string, string> = { amd64: "x86_64", arm64: "arm64" };

/** `podplane_<kind>_<os>_<arch>` with the OS's dashes as underscores: `podplane_knc_debian_13_amd64`. */
export function nstanceImageKey(image: Pick<NstanceSource, "kind" | "os" | "arch">): string {
  const key = ["podplane", image.kind, image.os.replaceAll("-", "_"), image.arch].join("_");
  if (!TEMPLATE_IDENTIFIER.test(key)) {
    throw new WorkError("ENSTANCEKEY", `${key}: not a Go template identifier (letters, digits, underscores), so Nstance would refuse it as an images key`, { key });
  }
  return key;
}

/**
 * The EC2 name filter matching every AMI name this tool gives a kind/os/arch and nothing else:
 * the stable prefix from imageName() followed by exactly as many `?` (one character each in
 * EC2 filters) as the short input hash has characters. `*` would also match a longer name that
 * merely starts the same way.
 */
export function amiNamePattern(image: Pick<NstanceSource, "kind" | "os" | "arch">): string {
  return imageName(image, "") + "?".repeat(SHORT_HASH_LENGTH);
}

/**
 * The owner account Nstance looks the AMIs up in: the explicit value, else $PODPLANE_IMAGES_AWS_OWNER,
 * else "self" (the account the Nstance server runs in, right when images are built there).
 * A 12-digit account ID or "self"; anything else is refused, naming where it came from.
 */
export function resolveAwsOwner(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env[AWS_OWNER_ENV];
  const value = explicit ?? (fromEnv === undefined || fromEnv === "" ? "self" : fromEnv);
  if (value === "self" || /^\d{12}$/.test(value)) return value;
  const source = explicit !== undefined ? "the AWS owner option" : `$${AWS_OWNER_ENV}`;
  throw new UsageError(`${source}: expected a 12-digit AWS account ID or "self", found ${JSON.stringify(value)}`, "EAWSOWNER");
}

function entryFor(image: NstanceSource, region: string, owner: string): NstanceImageConfig {
  const ami = image.amis[region];
  if (ami === undefined || !AMI_ID.test(ami)) {
    throw new WorkError("ENSTANCEAMI", `${image.kind}/${image.arch} in ${region}: expected an AMI ID (ami-…), found ${JSON.stringify(ami)}`, { region, ami });
  }
  const architecture = EC2_ARCHITECTURE[image.arch];
  const filters = [
    { name: "name", values: [amiNamePattern(image)] },
    { name: "state", values: ["available"] },
  ];
  // The name already says the arch; the filter also guards against a mislabelled AMI.
  if (architecture) filters.push({ name: "architecture", values: [architecture] });
  return { provider: "aws", filters, owners: [owner], sort: "creation-date", order: "desc", fallback: ami };
}

/**
 * region → fragment, for the images given (one per kind/arch: the one the tfvars point at,
 * whose AMI becomes the fallback). Keys and regions are sorted so the bytes are stable.
 */
export function nstanceFragments(images: readonly NstanceSource[], owner: string): Map<string, NstanceFragment> {
  const byRegion = new Map<string, Record<string, NstanceImageConfig>>();
  const ordered = [...images].sort((a, b) => (nstanceImageKey(a) < nstanceImageKey(b) ? -1 : 1));
  for (const image of ordered) {
    const key = nstanceImageKey(image);
    for (const region of Object.keys(image.amis).sort()) {
      if (!REGION.test(region)) {
        throw new WorkError("ENSTANCEREGION", `${image.kind}/${image.arch}: ${JSON.stringify(region)} is not an AWS region name`, { region });
      }
      const entries = byRegion.get(region) ?? {};
      entries[key] = entryFor(image, region, owner);
      byRegion.set(region, entries);
    }
  }
  const out = new Map<string, NstanceFragment>();
  for (const region of [...byRegion.keys()].sort()) out.set(region, { images: byRegion.get(region) ?? {} });
  return out;
}

export function nstanceFileName(region: string): string {
  return `${NSTANCE_FILE_PREFIX}${region}${NSTANCE_FILE_SUFFIX}`;
}

/** Removes fragments of regions no longer published (a pruned region must not keep a fallback). */
export async function removeStaleFragments(dir: string, keep: ReadonlySet<string>): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(dir)) {
    if (!name.startsWith(NSTANCE_FILE_PREFIX) || !name.endsWith(NSTANCE_FILE_SUFFIX) || keep.has(name)) continue;
    await rm(path.join(dir, name), { force: true });
    removed.push(name);
  }
  return removed;
}
