export * from "./path.js";
export * from "./hash.js";
export * from "./read.js";
export * from "./write.js";
export * from "./sweep.js";
