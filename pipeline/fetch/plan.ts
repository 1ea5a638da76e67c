// What one fetch run has to bring into the cache: every non-local artifact of the selected
// manifests, once per digest (the same kubelet serves knd and knc), with the kinds and arches
// that need it. An unpinned dependency is an error before any download starts.
import { WorkError } from "../errors/index.js";
import { throwAll } from "./failures.js";
import type { Artifact, Manifest } from "../manifest/load.js";
import type { Arch, ArtifactType, Kind } from "../manifest/schema.js";
import { parseIntegrity } from "../cache/path.js";
import { addUser, sortUsers } from "../manifest/users.js";

export interface FetchJob {
  name: string;
  version: string;
  /** "image": a container image of vmconfig.images (pipeline/fetch/images.ts). */
  type: ArtifactType | "image";
  url: string;
  digest: string;
  /** Canonical SRI, also the dedupe key. */
  integrity: string;
  size: number;
  kinds: Kind[];
  arches: Arch[];
}

export interface PlanOptions {
  includeBaseImage?: boolean | undefined;
  /** "error" (default): refuse unpinned dependencies; "skip": leave them out (verify, mirror export). */
  unpinned?: "error" | "skip";
}

function unpinned(manifest: Manifest, artifact: Artifact): WorkError {
  return new WorkError(
    "EUNPINNED",
    `${manifest.file}: ${artifact.name} ${artifact.version} is not pinned (no digest); run \`podplane-images pin ${artifact.name}@${artifact.version}\` with access to upstream or a mirror`,
    { file: manifest.file, name: artifact.name, version: artifact.version, url: artifact.url },
  );
}

export function planFetch(manifests: readonly Manifest[], options: PlanOptions = {}): FetchJob[] {
  const jobs = new Map<string, FetchJob>();
  const problems: WorkError[] = [];
  for (const manifest of manifests) {
    const artifacts = options.includeBaseImage ? [...manifest.dependencies, manifest.baseImage] : manifest.dependencies;
    for (const artifact of artifacts) {
      if (artifact.local) continue;
      if (!artifact.integrity) {
        if (options.unpinned === "skip") continue;
        problems.push(unpinned(manifest, artifact));
        continue;
      }
      const integrity = parseIntegrity(artifact.integrity).integrity;
      const job = jobs.get(integrity) ?? {
        name: artifact.name,
        version: artifact.version,
        type: artifact.type,
        url: artifact.url,
        digest: artifact.digest,
        integrity,
        size: artifact.size,
        kinds: [],
        arches: [],
      };
      addUser(job, manifest);
      jobs.set(integrity, job);
    }
  }
  throwAll(problems, (count) => `${count} dependencies are not pinned`);
  for (const job of jobs.values()) sortUsers(job);
  return [...jobs.values()].sort((a, b) => a.name.localeCompare(b.name) || (a.arches[0] ?? "").localeCompare(b.arches[0] ?? ""));
}

/** `kubelet 1.36.1 amd64`: how a job is named in progress lines. */
export function jobLabel(job: Pick<FetchJob, "name" | "version" | "arches">): string {
  return `${job.name} ${job.version} ${job.arches.join(",")}`;
}
