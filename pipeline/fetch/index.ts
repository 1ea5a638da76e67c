// Public API of the fetch stage (owned by the fetch work; other stages import only from here).
// PLACEHOLDER signatures, fixed so that build/stage can be written against them.
import type { Arch, Kind } from "../manifest/schema.js";
import type { Manifest } from "../manifest/load.js";
import { WorkError } from "../errors/index.js";

export interface FetchOptions {
  manifests: readonly Manifest[];
  cacheDir: string;
  /** Base URL (or directory) of a mirror laid out as <host>/<path> of each upstream URL. */
  mirror?: string | undefined;
  concurrency?: number | undefined;
  /** Include the base image (os.image) of each manifest too. Default false. */
  includeBaseImage?: boolean | undefined;
  signal?: AbortSignal | undefined;
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
  bytesDownloaded: number;
  seconds: number;
}

export function fetchArtifacts(_options: FetchOptions): Promise<FetchSummary> {
  return Promise.reject(new WorkError("ENOTIMPLEMENTED", "fetch is not built yet"));
}
