// Writing pins into a lock manifest without reformatting it: jsonc-parser computes minimal
// edits for each changed value, so the diff shows only the pinned fields.
import { applyEdits, modify, parseTree, findNodeAtLocation, getNodeValue, type FormattingOptions } from "jsonc-parser";

export interface PinnedEntry {
  version: string;
  url: string;
  type: string;
  digest: string;
  size: number;
  /** "mirror": only the mirror vouched for the digest (pin --trust-mirror); absent otherwise, and removed when a later pin is vouched for. */
  trust?: "mirror" | undefined;
}

const FORMAT: FormattingOptions = { insertSpaces: true, tabSize: 2, eol: "\n" };

/** The text with `dependencies.<name>` set to `entry` (fields updated in place, or the entry added). */
export function pinInManifestText(text: string, name: string, entry: PinnedEntry): { text: string; changed: string[] } {
  const base = ["vmconfig", "dependencies", name];
  const tree = parseTree(text);
  const existing = tree ? findNodeAtLocation(tree, base) : undefined;
  if (!existing) {
    // keep the dependencies sorted by name, as the published manifests are
    const getInsertionIndex = (names: string[]) => names.filter((n) => n.localeCompare(name) < 0).length;
    const { trust, ...fields } = entry;
    const edits = modify(text, base, trust ? { ...fields, trust } : fields, { formattingOptions: FORMAT, getInsertionIndex });
    return { text: applyEdits(text, edits), changed: ["version", "url", "type", "digest", "size", ...(trust ? ["trust"] : [])] };
  }
  let out = text;
  const changed: string[] = [];
  for (const field of ["version", "url", "type", "digest", "size", "trust"] as const) {
    const node = tree ? findNodeAtLocation(tree, [...base, field]) : undefined;
    const current: unknown = node ? getNodeValue(node) : undefined;
    if (current === entry[field]) continue;
    out = applyEdits(out, modify(out, [...base, field], entry[field], { formattingOptions: FORMAT }));
    changed.push(field);
  }
  return { text: out, changed };
}

export interface PinnedImage {
  image: string;
  digest: string;
  size: number;
  platform: string;
  index: string;
}

const IMAGE_FIELDS = ["image", "digest", "size", "platform", "index"] as const;

/** `registry.k8s.io/pause` of `registry.k8s.io/pause:3.10.2`: an image's identity across tags. */
function repositoryOf(image: string): string {
  return image.slice(0, image.lastIndexOf(":"));
}

/**
 * The text with `vmconfig.images` holding `entry`: the entry of the same repository (any tag)
 * updated field by field in place, or a new entry inserted in name order, as Podplane's own
 * generator keeps them.
 */
export function pinImageInManifestText(text: string, entry: PinnedImage): { text: string; changed: string[] } {
  const base = ["vmconfig", "images"];
  const tree = parseTree(text);
  const list = tree ? findNodeAtLocation(tree, base) : undefined;
  const current = list ? (getNodeValue(list) as { image?: unknown }[]) : [];
  const at = current.findIndex((item) => typeof item.image === "string" && repositoryOf(item.image) === repositoryOf(entry.image));
  const fields = { image: entry.image, digest: entry.digest, size: entry.size, platform: entry.platform, index: entry.index };
  if (at < 0) {
    const position = current.filter((item) => typeof item.image === "string" && item.image.localeCompare(entry.image) < 0).length;
    const edits = modify(text, [...base, position], fields, { formattingOptions: FORMAT, isArrayInsertion: true });
    return { text: applyEdits(text, edits), changed: [...IMAGE_FIELDS] };
  }
  let out = text;
  const changed: string[] = [];
  for (const field of IMAGE_FIELDS) {
    const node = tree ? findNodeAtLocation(tree, [...base, at, field]) : undefined;
    const value: unknown = node ? getNodeValue(node) : undefined;
    if (value === fields[field]) continue;
    out = applyEdits(out, modify(out, [...base, at, field], fields[field], { formattingOptions: FORMAT }));
    changed.push(field);
  }
  return { text: out, changed };
}
