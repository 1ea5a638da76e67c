export * from "./digest.js";
export * from "./schema.js";
export * from "./load.js";
