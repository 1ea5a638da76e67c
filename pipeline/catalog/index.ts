export * from "./catalog.js";
export * from "./checksums.js";
