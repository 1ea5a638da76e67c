export * from "./pin.js";
export * from "./edit.js";
export * from "./image.js";
