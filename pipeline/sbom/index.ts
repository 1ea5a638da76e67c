// Public API of the per-image SBOM (SPDX 2.3 and CycloneDX 1.6 JSON).
export { parseDpkgPackages, type DpkgPackage } from "./dpkg.js";
export { buildInventory, type Component, type Inventory, type InventoryInput } from "./inventory.js";
export { renderSpdx } from "./spdx.js";
export { renderCycloneDx } from "./cyclonedx.js";
export { debPurl, ociPurl, purl } from "./purl.js";
export { AWS_DPKG_STATUS_FILE, imagePackagesOf, readImagePackages, sbomPaths, writeImageSbom, type ImageSbomOptions, type SbomFiles } from "./write.js";
