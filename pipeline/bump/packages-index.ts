// An apt `Packages` index (deb822 stanzas separated by blank lines) reduced to what bump needs:
// per package name, each version with its architecture and pool file name.
import { parseControlFile } from "../deb822/index.js";

export interface IndexedPackage {
  version: string;
  architecture: string;
  filename: string | undefined;
}

export function parsePackagesIndex(text: string): Map<string, IndexedPackage[]> {
  const packages = new Map<string, IndexedPackage[]>();
  for (const fields of parseControlFile(text)) {
    const name = fields.get("package");
    const version = fields.get("version");
    if (!name || !version) continue;
    const list = packages.get(name) ?? [];
    list.push({ version, architecture: fields.get("architecture") ?? "", filename: fields.get("filename") });
    packages.set(name, list);
  }
  return packages;
}
