// Public API of image identity: input hash, name, file digests, logged child processes.
export { fileSha256 } from "./file-digest.js";
export { IMAGE_FORMAT_VERSION, SHORT_HASH_LENGTH, computeInputHash, imageName, inputDocument, type ImageInputs } from "./input-hash.js";
export { LineTail, runLogged, type RunLoggedOptions } from "./run-logged.js";
