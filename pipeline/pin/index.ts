export * from "./pin.js";
export * from "./edit.js";
