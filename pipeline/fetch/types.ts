// Public types of the fetch stage (the fixed API other stages build against).
import type { Arch, Kind } from "../manifest/schema.js";
import type { Manifest } from "../manifest/load.js";
import type { FetchJob } from "./plan.js";
import type { RetryPolicy } from "./retry.js";
import type { RegistryMirrors } from "../oci/registry-mirrors.js";

export interface FetchOptions {
  manifests: readonly Manifest[];
  cacheDir: string;
  /** Base URL (or directory) of a mirror laid out as <host>/<path> of each upstream URL. */
  mirror?: string | undefined;
  /** Container images only: registry → a registry mirror's base URL, read ahead of `mirror` for that registry. */
  registryMirrors?: RegistryMirrors | undefined;
  concurrency?: number | undefined;
  /** Also fetch each manifest's container images (vmconfig.images) by digest. Default false. */
  images?: boolean | undefined;
  /** Include the base image (os.image) of each manifest too. Default false. */
  includeBaseImage?: boolean | undefined;
  signal?: AbortSignal | undefined;
  /** Progress events (start, bytes, retry, done, failed) for a task list. */
  onEvent?: ((event: FetchEvent) => void) | undefined;
  /** Retries of timeouts, resets and 5xx. Default 3 retries from 500 ms, doubling. */
  retry?: RetryPolicy | undefined;
  /** Connect/response/idle-socket timeout in milliseconds. Default 30 s. */
  timeoutMs?: number | undefined;
}

export interface FetchedArtifact {
  name: string;
  version: string;
  kinds: Kind[];
  arches: Arch[];
  url: string;
  /** `sha256:<hex>` as in the manifest */
  digest: string;
  /** SRI form */
  integrity: string;
  size: number;
  /** Absolute path of the verified file in the content-addressed cache. */
  path: string;
  cacheHit: boolean;
  seconds: number;
}

export interface FetchSummary {
  artifacts: FetchedArtifact[];
  /** With `images: true`: every image of the manifests, fetched by digest. */
  images?: FetchedImageSummary[];
  bytesDownloaded: number;
  seconds: number;
}

/** An image of a run: its pins, kinds/arches, and whether it cost a request. */
export interface FetchedImageSummary {
  image: string;
  platform: string;
  kinds: Kind[];
  arches: Arch[];
  index: string;
  digest: string;
  size: number;
  /** Cache path of the platform manifest. */
  path: string;
  blobs: string[];
  cacheHit: boolean;
  bytesDownloaded: number;
  seconds: number;
}

export type FetchEvent =
  | { type: "start"; job: FetchJob }
  | { type: "evicted"; job: FetchJob; reason: string }
  | { type: "download"; job: FetchJob; source: string }
  | { type: "bytes"; job: FetchJob; received: number; delta: number }
  | { type: "retry"; job: FetchJob; retry: number; error: unknown }
  | { type: "done"; job: FetchJob; artifact: FetchedArtifact }
  | { type: "failed"; job: FetchJob; error: unknown };

export const DEFAULT_CONCURRENCY = 4;
export const DEFAULT_TIMEOUT_MS = 30_000;
