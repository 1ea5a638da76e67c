// Public API of bump: find the newest upstream versions of the lock manifests' dependencies
// and images, and pin them through pipeline/pin.
export { findBumps, type BumpOptions, type BumpReport, type BumpRow, type BumpStatus, type BumpManifestRef } from "./bump.js";
export { writeBumps, type WriteOptions, type WriteResult, type WrittenBump } from "./write.js";
export { formatBumpTable, manifestsLabel } from "./format.js";
export { compareDebianVersions, parseDebianVersion, withoutEpoch, type DebianVersion } from "./debian-version.js";
export { compareReleaseVersions, parseReleaseVersion, highestRelease, shapeOfTag, versionInTag, type ReleaseVersion, type TagShape } from "./release-version.js";
export { upstreamSourceOf, githubSourceOf, type UpstreamSource } from "./sources.js";
