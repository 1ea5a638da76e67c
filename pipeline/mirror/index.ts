export * from "./export.js";
export * from "./serve.js";
