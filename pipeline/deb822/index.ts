// Debian's control-file format (deb822): dpkg's status database, an apt Release file, a Packages
// index. One parser for all of them: a paragraph is lines of `Field: value`, a line that starts
// with a space or tab continues the field before it, paragraphs are separated by blank lines.

/** The fields of one paragraph, keys lower-cased; a continuation line extends the field before it. */
export function parseControlParagraph(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  let last: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (line === "" || line.startsWith("#")) continue;
    if (/^[ \t]/.test(line)) {
      if (last !== undefined) fields.set(last, `${fields.get(last) ?? ""}\n${line.trim()}`);
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    last = line.slice(0, colon).trim().toLowerCase();
    fields.set(last, line.slice(colon + 1).trim());
  }
  return fields;
}

/** Every paragraph of a control file, parsed (blank or whitespace-only lines separate them). */
export function parseControlFile(text: string): Map<string, string>[] {
  return text
    .split(/\r?\n[ \t]*\r?\n(?:[ \t]*\r?\n)*/)
    .map(parseControlParagraph)
    .filter((fields) => fields.size > 0);
}
