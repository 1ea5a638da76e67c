// The AMIs images.auto.tfvars.json points at now: whatever a cluster may be launching from,
// which retention never deletes. A tfvars file that cannot be read stops prune and merge:
// guessing "nothing referenced" would put exactly those images at risk.
import { readFile } from "node:fs/promises";
import { UsageError } from "../errors/index.js";
import { isBootTested, type ImagesFile } from "./images-json.js";

export async function readTfvarsAmis(file: string): Promise<Set<string>> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return new Set();
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${file}: $: not JSON, so which images it points at is unknown; fix or remove it`, "ETFVARSJSON", { cause: error });
  }
  return amisOf(parsed);
}

/** Every AMI ID anywhere in a tfvars-shaped value. */
export function amisOf(value: unknown, into = new Set<string>()): Set<string> {
  if (typeof value === "string") {
    if (/^ami-[0-9A-Za-z]+$/.test(value)) into.add(value);
  } else if (Array.isArray(value)) {
    for (const v of value) amisOf(v, into);
  } else if (value && typeof value === "object") {
    for (const v of Object.values(value)) amisOf(v, into);
  }
  return into;
}

/**
 * Whether the tfvars were written with --allow-untested: they point at an image that was not
 * boot-tested. Regenerating them the same way keeps every pointer where it was; regenerating
 * without would silently drop such a pointer, and the next prune would then delete that image.
 */
export function pointsAtUntested(tfvarsAmis: ReadonlySet<string>, doc: ImagesFile): boolean {
  return doc.images.some((r) => !isBootTested(r) && Object.values(r.amis ?? {}).some((ami) => tfvarsAmis.has(ami)));
}
