// Public API of the OCI image stage: fetch pinned images by digest, list their cached content,
// resolve tags for `pin image`, and the mirror layout of images.
export { parseImageReference, registryBaseUrl, isLoopbackRegistry, type ImageReference } from "./reference.js";
export { planImages, imageLabel, type ImageJob } from "./plan.js";
export { fetchImage, imageFetchContext, type FetchedImage, type ImageFetchContext } from "./fetch.js";
export { listImageContent, type ImageContent, type CachedContent } from "./content.js";
export { resolveImage, type ResolvedImage, type ResolvedPlatform } from "./resolve.js";
export { mirrorContentPath, registrySource, parseBearerChallenge, type RegistrySource, type ContentKind, type ImageSources } from "./registry.js";
export { addRegistryMirrors, parseRegistryMirror, registryMirrorsJson, type RegistryMirror, type RegistryMirrors } from "./registry-mirrors.js";
export { mediaTypeOf, parseImageDocument, imageSize, MANIFEST_ACCEPT, OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST } from "./media.js";
