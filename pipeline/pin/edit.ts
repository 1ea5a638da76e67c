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
