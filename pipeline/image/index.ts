// Public API of image identity: input hash, name, file digests, logged child processes.
export { fileSha256 } from "./file-digest.js";
export { LineTail, runLogged, type RunLoggedOptions } from "./run-logged.js";
