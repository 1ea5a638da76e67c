export * from "./compare.js";
export * from "./snapshot.js";
export * from "./markdown.js";
export * from "./manifest-set.js";
export * from "./image-records.js";
export * from "./release-notes.js";
export * from "./run.js";
