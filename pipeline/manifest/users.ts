// Which kinds and arches need a fetched thing (an artifact, an image): recorded once per manifest
// that names it, listed in the schema's order (knd before knc, amd64 before arm64) so output and
// --json do not depend on the order manifests were read in.
import { ARCHES, KINDS, type Arch, type Kind } from "./schema.js";

export interface Users {
  kinds: Kind[];
  arches: Arch[];
}

/** Records that `manifest` needs the thing `users` describes. */
export function addUser(users: Users, manifest: { kind: Kind; arch: Arch }): void {
  if (!users.kinds.includes(manifest.kind)) users.kinds.push(manifest.kind);
  if (!users.arches.includes(manifest.arch)) users.arches.push(manifest.arch);
}

/** Puts kinds and arches in the schema's order. */
export function sortUsers(users: Users): void {
  users.kinds.sort((a, b) => KINDS.indexOf(a) - KINDS.indexOf(b));
  users.arches.sort((a, b) => ARCHES.indexOf(a) - ARCHES.indexOf(b));
}
