// The lock-manifest file format, exactly as Podplane publishes it
// (shared/reference/podplane-manifests). Validated on load; never reshaped on write.
import { z } from "zod";
import { isPodplaneDigest } from "./digest.js";

export const KINDS = ["knd", "knc"] as const;
export const ARCHES = ["amd64", "arm64"] as const;
export const ARTIFACT_TYPES = ["binary", "tar.gz", "deb", "qcow2"] as const;

export type Kind = (typeof KINDS)[number];
export type Arch = (typeof ARCHES)[number];
export type ArtifactType = (typeof ARTIFACT_TYPES)[number];

const pinnedDigest = z
  .string()
  .refine(isPodplaneDigest, { message: "expected a digest of the form sha256:<64 hex> or sha512:<128 hex>" });

/** An empty digest means "not pinned yet" (e.g. kube2iam before `pin` ran, or vmconfig built here). */
const digestOrUnpinned = z.union([z.literal(""), pinnedDigest]);

const httpsUrlOrEmpty = z
  .string()
  .refine((value) => value === "" || /^https?:\/\/[^\s/]+\/\S*$/.test(value), {
    message: "expected an http(s) URL or an empty string",
  });

export const artifactEntrySchema = z
  .object({
    version: z.string().min(1, "expected a non-empty version"),
    url: httpsUrlOrEmpty,
    type: z.enum(ARTIFACT_TYPES),
    digest: digestOrUnpinned,
    size: z.number().int("expected an integer size in bytes").nonnegative(),
    /** Written by `pin --trust-mirror` when only the mirror vouched for the digest (not in Podplane's own manifests). */
    trust: z.literal("mirror").optional(),
  })
  .strict();

/** The base image may also be a local file: the lock manifest written beside a baked qcow2 (publish/podplane-manifest.ts). */
const imageUrl = z.string().refine((value) => value === "" || /^https?:\/\/[^\s/]+\/\S*$/.test(value) || /^file:\/\/\/\S+$/.test(value), {
  message: "expected an http(s) URL, a file:/// URL or an empty string",
});

export const baseImageSchema = artifactEntrySchema.extend({ type: z.literal("qcow2"), url: imageUrl }).strict();

const bootFileSchema = z
  .object({ partition: z.number().int().positive(), path: z.string().min(1), digest: pinnedDigest })
  .strict();

export const containerImageSchema = z
  .object({
    image: z.string().regex(/^[a-z0-9.-]+(:\d+)?\/[a-z0-9._/-]+:[\w.-]+$/, "expected registry/name:tag"),
    digest: pinnedDigest,
    size: z.number().int().positive(),
    platform: z.string().regex(/^linux\/(amd64|arm64)$/, "expected linux/amd64 or linux/arm64"),
    index: pinnedDigest,
  })
  .strict();

export const lockFileSchema = z
  .object({
    vmconfig: z
      .object({
        version: z.string().min(1),
        kind: z.enum(KINDS),
        os: z
          .object({
            name: z.string().regex(/^[a-z]+-\d+$/, "expected an os name like debian-13"),
            arch: z.enum(ARCHES),
            image: baseImageSchema,
            boot: z
              .object({ cmdline: z.string(), kernel: bootFileSchema, initrd: bootFileSchema })
              .strict()
              .optional(),
          })
          .strict(),
        dependencies: z.record(
          z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "expected a lower-case dependency name"),
          artifactEntrySchema,
        ),
        images: z.array(containerImageSchema),
      })
      .strict(),
  })
  .strict();

export type ArtifactEntry = z.infer<typeof artifactEntrySchema>;
export type LockFile = z.infer<typeof lockFileSchema>;
export type ContainerImage = z.infer<typeof containerImageSchema>;
