// SPDX 2.3 JSON of an inventory: the image is the package the document describes; it CONTAINS
// every component and is a DESCENDANT_OF its base. Packages are not file-analysed (no file list).
import type { Checksum, Component, Inventory } from "./inventory.js";
import { NAMESPACE_BASE, documentUuid } from "./ids.js";

const ALGORITHM = { sha256: "SHA256", sha512: "SHA512" } as const;

function checksums(list: readonly Checksum[]): Array<{ algorithm: string; checksumValue: string }> {
  return list.map((c) => ({ algorithm: ALGORITHM[c.algorithm], checksumValue: c.hex }));
}

/** Left out for Debian packages: the dpkg database does not say whether one is a library or a program. */
function purpose(c: Component): string | undefined {
  if (c.kind === "container-image") return "CONTAINER";
  if (c.kind === "deb") return undefined;
  if (c.kind === "vmconfig") return "ARCHIVE";
  return /\.(tar\.gz|tgz)$/.test(c.downloadUrl ?? "") ? "ARCHIVE" : "APPLICATION";
}

/** SPDX wants an http(s) URL for a homepage; a dpkg Homepage field may hold anything. */
function httpUrl(value: string | undefined): string | undefined {
  if (!value) return undefined;
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : undefined;
  } catch {
    return undefined;
  }
}

function componentPackage(c: Component): Record<string, unknown> {
  const comment: string[] = [];
  if (c.pinned) comment.push("pinned in the lock manifest");
  else if (c.kind !== "deb" || c.downloadUrl) comment.push("not pinned: the lock manifest holds no digest");
  if (c.index) comment.push(`resolved from the image index ${c.index}`);
  const homepage = httpUrl(c.homepage);
  return {
    SPDXID: `SPDXRef-${c.ref}`,
    name: c.name,
    versionInfo: c.version,
    downloadLocation: c.downloadUrl ?? "NOASSERTION",
    filesAnalyzed: false,
    ...(c.checksums.length > 0 ? { checksums: checksums(c.checksums) } : {}),
    ...(homepage ? { homepage } : {}),
    ...(c.source ? { sourceInfo: `built from the Debian source package ${c.source.name} ${c.source.version}` } : {}),
    externalRefs: [{ referenceCategory: "PACKAGE-MANAGER", referenceType: "purl", referenceLocator: c.purl }],
    ...(purpose(c) ? { primaryPackagePurpose: purpose(c) } : {}),
    ...(comment.length > 0 ? { comment: comment.join("; ") } : {}),
  };
}

export function renderSpdx(inv: Inventory): Record<string, unknown> {
  const img = inv.image;
  const amis = Object.entries(img.amis ?? {}).map(([region, ami]) => `${region} ${ami}`);
  const image = {
    SPDXID: "SPDXRef-image",
    name: img.name,
    downloadLocation: "NOASSERTION",
    filesAnalyzed: false,
    ...(img.digest ? { checksums: checksums([digestOf(img.digest)]) } : {}),
    primaryPackagePurpose: "OPERATING-SYSTEM",
    comment: `Podplane ${img.kind} image, ${img.os} ${img.arch}, target ${img.target}${amis.length > 0 ? `; AMIs: ${amis.join(", ")}` : ""}`,
  };
  const base = {
    SPDXID: "SPDXRef-base-image",
    name: inv.base.url ? (inv.base.url.split("/").at(-1) ?? inv.base.source) : inv.base.source,
    ...(inv.base.version ? { versionInfo: inv.base.version } : {}),
    downloadLocation: inv.base.url ?? "NOASSERTION",
    filesAnalyzed: false,
    ...(/^sha(256|512):/.test(inv.base.digest) ? { checksums: checksums([digestOf(inv.base.digest)]) } : {}),
    primaryPackagePurpose: "OPERATING-SYSTEM",
    comment: `the base the image was baked from: ${inv.base.source}`,
  };
  const relationships = [
    { spdxElementId: "SPDXRef-DOCUMENT", relationshipType: "DESCRIBES", relatedSpdxElement: "SPDXRef-image" },
    { spdxElementId: "SPDXRef-image", relationshipType: "DESCENDANT_OF", relatedSpdxElement: "SPDXRef-base-image" },
    ...inv.components.map((c) => ({ spdxElementId: "SPDXRef-image", relationshipType: "CONTAINS", relatedSpdxElement: `SPDXRef-${c.ref}` })),
  ];
  return {
    spdxVersion: "SPDX-2.3",
    dataLicense: "CC0-1.0",
    SPDXID: "SPDXRef-DOCUMENT",
    name: img.name,
    documentNamespace: `${NAMESPACE_BASE}/${img.name}-${documentUuid(inv)}`,
    creationInfo: {
      created: inv.created,
      creators: [`Tool: ${inv.tool.name}-${inv.tool.version}`],
      comment: `Debian packages read from ${inv.dpkgSource}; artifacts, container images and vmconfig from the lock manifest the image was baked from.`,
    },
    packages: [image, base, ...inv.components.map(componentPackage)],
    relationships,
  };
}

function digestOf(digest: string): Checksum {
  const [algorithm, hex] = digest.split(":");
  return { algorithm: algorithm === "sha512" ? "sha512" : "sha256", hex: hex ?? "" };
}
