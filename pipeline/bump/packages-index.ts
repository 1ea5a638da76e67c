// An apt `Packages` index (deb822 stanzas separated by blank lines) reduced to what bump needs:
// per package name, each version with its architecture and pool file name.

export interface IndexedPackage {
  version: string;
  architecture: string;
  filename: string | undefined;
}

export function parsePackagesIndex(text: string): Map<string, IndexedPackage[]> {
  const packages = new Map<string, IndexedPackage[]>();
  let fields = new Map<string, string>();
  const flush = () => {
    const name = fields.get("package");
    const version = fields.get("version");
    if (name && version) {
      const list = packages.get(name) ?? [];
      list.push({ version, architecture: fields.get("architecture") ?? "", filename: fields.get("filename") });
      packages.set(name, list);
    }
    fields = new Map();
  };
  for (const line of text.split("\n")) {
    if (line.trim() === "") {
      flush();
      continue;
    }
    if (line.startsWith(" ") || line.startsWith("\t")) continue; // a continuation line (Description etc.)
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const key = line.slice(0, colon).toLowerCase();
    if (key === "package" || key === "version" || key === "architecture" || key === "filename") fields.set(key, line.slice(colon + 1).trim());
  }
  flush();
  return packages;
}
