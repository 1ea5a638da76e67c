// Public API of the slim user-data renderer.
export { DEFAULT_REGISTRATION_TIMEOUT_SECONDS, renderScript, renderUserData, shellQuote, userDataEnvText, USER_DATA_FORMATS, type RenderOptions, type UserDataFormat } from "./render.js";
export { HEREDOC_DELIMITERS, resolveValues, type ResolvedValues, type UserDataOptions } from "./values.js";
export { LAUNCH_PLACEHOLDERS, NONCE_PLACEHOLDER, PROVIDER_KINDS, USER_DATA_ENV_FIELDS, USER_DATA_ENV_GROUPS, type ProviderKind, type UserDataField } from "./layout.js";
export { parseEnvText, readEnvFile } from "./env-file.js";
