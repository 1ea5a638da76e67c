// The installed Debian packages of an image, from its dpkg database (/var/lib/dpkg/status):
// every stanza whose Status says "installed", with what an SBOM names: architecture and the
// source package it was built from.
import { parseControlFile } from "../deb822/index.js";
import { WorkError } from "../errors/index.js";

export interface DpkgPackage {
  name: string;
  version: string;
  architecture: string;
  /** The source package (the `Source:` field, else the binary's own name) and its version. */
  source: string;
  sourceVersion: string;
  homepage?: string;
}

/** Parses a dpkg status file; `where` names it in errors. Sorted by name, then architecture. */
export function parseDpkgPackages(text: string, where: string): DpkgPackage[] {
  const packages: DpkgPackage[] = [];
  for (const f of parseControlFile(text)) {
    const name = f.get("package");
    const status = f.get("status");
    if (!name || !status?.endsWith(" installed")) continue;
    const version = f.get("version");
    const architecture = f.get("architecture");
    if (!version || !architecture) throw new WorkError("ESBOMDPKG", `${where}: package ${name} is installed but has no ${version ? "Architecture" : "Version"} field`, { file: where, package: name });
    // "Source: name (version)" when the source version differs from the binary's.
    const source = /^(\S+)(?:\s+\(([^)]+)\))?$/.exec(f.get("source") ?? "");
    const homepage = f.get("homepage");
    packages.push({ name, version, architecture, source: source?.[1] ?? name, sourceVersion: source?.[2] ?? version, ...(homepage ? { homepage } : {}) });
  }
  if (packages.length === 0) throw new WorkError("ESBOMDPKG", `${where}: no installed package found; is this a dpkg status file?`, { file: where });
  return packages.sort((a, b) => (a.name === b.name ? (a.architecture < b.architecture ? -1 : 1) : a.name < b.name ? -1 : 1));
}
