// Images in a fetch run: each pinned image (planned by pipeline/oci) is one more job of the run,
// shown and reported like an artifact (same events, same task list), fetched by digest from its
// registry or the mirror into the same cache.
import { digestToIntegrity } from "../manifest/digest.js";
import { planImages, type ImageJob } from "../oci/plan.js";
import type { Manifest } from "../manifest/load.js";
import type { FetchJob } from "./plan.js";

/** An image as a fetch job: keyed by its platform manifest digest, sized by its pinned size. */
export function imageFetchJob(image: ImageJob): FetchJob {
  return {
    name: `${image.registry}/${image.repository}`,
    version: image.tag,
    type: "image",
    url: `${image.registry}/${image.repository}@${image.digest}`,
    digest: image.digest,
    integrity: digestToIntegrity(image.digest),
    size: image.size,
    kinds: image.kinds,
    arches: image.arches,
  };
}

/** The image jobs of a set of manifests, each with its fetch-job face. */
export function planImageJobs(manifests: readonly Manifest[]): { image: ImageJob; job: FetchJob }[] {
  return planImages(manifests).map((image) => ({ image, job: imageFetchJob(image) }));
}
