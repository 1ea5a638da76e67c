// Public API of the slim user-data renderer.
export { renderUserData, shellQuote, userDataVariables, validateUserDataEnv, USER_DATA_FORMATS, type UserDataFormat } from "./render.js";
export { parseEnvText, readEnvFile } from "./env-file.js";
