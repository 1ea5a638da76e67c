export * from "./renderer.js";
export * from "./tracked.js";
export * from "./signals.js";
