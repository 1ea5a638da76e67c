// The OCI and Docker media types of image indexes and manifests, and the small parts of their
// JSON this pipeline reads (descriptors: digest, size, platform). Parsed strictly enough that a
// garbled document is an error naming what is wrong, never a crash.
import { z } from "zod";
import { isPodplaneDigest } from "../manifest/digest.js";

export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
export const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";

export const INDEX_TYPES: readonly string[] = [OCI_INDEX, DOCKER_LIST];
export const MANIFEST_TYPES: readonly string[] = [OCI_MANIFEST, DOCKER_MANIFEST];

/** What we ask a registry for: any index or manifest form, OCI first. */
export const MANIFEST_ACCEPT = [OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST].join(", ");

/** Registries refuse manifests over 4 MiB; so do we (an index has no pinned size). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

const digest = z.string().refine((value) => isPodplaneDigest(value) && value.startsWith("sha256:"), { message: "expected sha256:<64 hex>" });

const descriptor = z.object({
  mediaType: z.string().optional(),
  digest,
  size: z.number().int().nonnegative(),
});

const platformDescriptor = descriptor.extend({
  platform: z.object({ os: z.string(), architecture: z.string(), variant: z.string().optional() }).optional(),
});

const indexSchema = z.object({ mediaType: z.string().optional(), manifests: z.array(platformDescriptor) });
const manifestSchema = z.object({ mediaType: z.string().optional(), config: descriptor, layers: z.array(descriptor) });

export type Descriptor = z.infer<typeof descriptor>;
export type PlatformDescriptor = z.infer<typeof platformDescriptor>;
export interface ImageIndex {
  mediaType: string;
  manifests: PlatformDescriptor[];
}
export interface ImageManifest {
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
}

export type ParsedDocument = { kind: "index"; index: ImageIndex } | { kind: "manifest"; manifest: ImageManifest };

/** An index or a manifest from its bytes; a message naming the problem otherwise. */
export function parseImageDocument(bytes: Buffer, contentType?: string): ParsedDocument | { kind: "invalid"; problem: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString("utf8"));
  } catch (error) {
    return { kind: "invalid", problem: `not JSON (${(error as Error).message})` };
  }
  const declared = (raw as { mediaType?: unknown } | null)?.mediaType;
  const type = typeof declared === "string" ? declared : (contentType?.split(";")[0]?.trim() ?? "");
  const looksLikeIndex = INDEX_TYPES.includes(type) || (!MANIFEST_TYPES.includes(type) && Array.isArray((raw as { manifests?: unknown } | null)?.manifests));
  if (looksLikeIndex) {
    const parsed = indexSchema.safeParse(raw);
    if (!parsed.success) return { kind: "invalid", problem: `not an image index: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}` };
    return { kind: "index", index: { mediaType: parsed.data.mediaType ?? OCI_INDEX, manifests: parsed.data.manifests } };
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) return { kind: "invalid", problem: `not an image manifest: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}` };
  return { kind: "manifest", manifest: { mediaType: parsed.data.mediaType ?? OCI_MANIFEST, config: parsed.data.config, layers: parsed.data.layers } };
}

/** The media type to serve a stored manifest or index with: its own, else what its shape says. */
export function mediaTypeOf(bytes: Buffer): string {
  const parsed = parseImageDocument(bytes);
  if (parsed.kind === "index") return parsed.index.mediaType;
  if (parsed.kind === "manifest") return parsed.manifest.mediaType;
  return "application/octet-stream";
}

/** `linux/arm64` or `linux/arm64/v8` for an entry of an index; undefined when it names none. */
export function platformOf(entry: PlatformDescriptor): string | undefined {
  const p = entry.platform;
  if (!p?.os || !p.architecture || p.os === "unknown" || p.architecture === "unknown") return undefined;
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}`;
}

/** The index entry for `platform` (`linux/arm64` also matches a `linux/arm64/v8` entry, as Podplane's resolver does). */
export function findPlatform(index: ImageIndex, platform: string): PlatformDescriptor | undefined {
  return index.manifests.find((entry) => {
    const found = platformOf(entry);
    return found !== undefined && (found === platform || found.startsWith(`${platform}/`));
  });
}

/** Podplane's image size: the platform manifest's bytes plus its config and layer blobs. */
export function imageSize(manifestBytes: number, manifest: ImageManifest): number {
  return manifestBytes + manifest.config.size + manifest.layers.reduce((sum, layer) => sum + layer.size, 0);
}
