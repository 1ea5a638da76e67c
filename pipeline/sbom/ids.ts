// Deterministic identifiers: the same inventory always gets the same document namespace and
// serial number (a name-based UUID, RFC 9562 version 5), so a rewritten SBOM is byte-identical.
import { createHash } from "node:crypto";
import type { Inventory } from "./inventory.js";

/** RFC 9562's namespace for URLs. */
const URL_NAMESPACE = "6ba7b811-9dad-11d1-80b4-00c04fd430c8";

export function uuidV5(name: string, namespace = URL_NAMESPACE): string {
  const hash = createHash("sha1").update(Buffer.from(namespace.replace(/-/g, ""), "hex")).update(name, "utf8").digest();
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x50;
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Where the documents of this tool live (a name, not a page that must resolve). */
export const NAMESPACE_BASE = "https://podplane.github.io/podplane-images/sbom";

/** What makes one image's SBOM this one: the image, its contents' identities and the time. */
export function inventoryKey(inv: Inventory): string {
  const subject = [inv.image.name, inv.image.target, inv.image.digest ?? "", ...Object.entries(inv.image.amis ?? {}).map(([r, a]) => `${r}=${a}`)];
  const contents = inv.components.map((c) => `${c.purl} ${c.checksums.map((s) => `${s.algorithm}:${s.hex}`).join(",")}`);
  return [...subject, inv.base.digest, inv.created, ...contents].join("\n");
}

export function documentUuid(inv: Inventory): string {
  return uuidV5(`${NAMESPACE_BASE}/${inv.image.name}\n${createHash("sha256").update(inventoryKey(inv)).digest("hex")}`);
}
