// Public API of the slim user-data renderer. PLACEHOLDER signature.
import type { Kind } from "../manifest/schema.js";
import { WorkError } from "../errors/index.js";

export type UserDataFormat = "script" | "cloud-config";

export function renderUserData(_options: { kind: Kind; format: UserDataFormat; env: ReadonlyArray<readonly [string, string]> }): string {
  throw new WorkError("ENOTIMPLEMENTED", "user-data is not built yet");
}
