// CycloneDX 1.6 JSON of an inventory: the image is metadata.component (its base as pedigree
// ancestor), every component is listed once and the image depends on each.
import type { Checksum, Component, Inventory } from "./inventory.js";
import { documentUuid } from "./ids.js";

const ALGORITHM = { sha256: "SHA-256", sha512: "SHA-512" } as const;

function hashes(list: readonly Checksum[]): Array<{ alg: string; content: string }> {
  return list.map((c) => ({ alg: ALGORITHM[c.algorithm], content: c.hex }));
}

function parsed(digest: string): Checksum[] {
  const m = /^(sha256|sha512):([0-9a-f]+)$/.exec(digest);
  return m?.[1] && m[2] ? [{ algorithm: m[1] as Checksum["algorithm"], hex: m[2] }] : [];
}

function type(c: Component): string {
  if (c.kind === "container-image") return "container";
  if (c.kind === "deb") return "library";
  return "application";
}

function component(c: Component): Record<string, unknown> {
  const properties = [
    { name: "podplane:kind", value: c.kind },
    { name: "podplane:pinned", value: String(c.pinned) },
    ...(c.architecture ? [{ name: "podplane:deb:architecture", value: c.architecture }] : []),
    ...(c.source ? [{ name: "podplane:deb:source", value: `${c.source.name} ${c.source.version}` }] : []),
    ...(c.index ? [{ name: "podplane:oci:index", value: c.index }] : []),
  ];
  return {
    type: type(c),
    "bom-ref": c.ref,
    name: c.name,
    version: c.version,
    ...(c.checksums.length > 0 ? { hashes: hashes(c.checksums) } : {}),
    purl: c.purl,
    ...(c.downloadUrl ? { externalReferences: [{ type: "distribution", url: c.downloadUrl }] } : {}),
    properties,
  };
}

export function renderCycloneDx(inv: Inventory): Record<string, unknown> {
  const img = inv.image;
  const base = {
    type: "operating-system",
    "bom-ref": "base-image",
    name: inv.base.url ? (inv.base.url.split("/").at(-1) ?? inv.base.source) : inv.base.source,
    ...(inv.base.version ? { version: inv.base.version } : {}),
    ...(parsed(inv.base.digest).length > 0 ? { hashes: hashes(parsed(inv.base.digest)) } : {}),
    ...(inv.base.url ? { externalReferences: [{ type: "distribution", url: inv.base.url }] } : {}),
    properties: [{ name: "podplane:base:source", value: inv.base.source }],
  };
  const image = {
    type: "operating-system",
    "bom-ref": "image",
    name: img.name,
    ...(img.digest ? { hashes: hashes(parsed(img.digest)) } : {}),
    pedigree: { ancestors: [base] },
    properties: [
      { name: "podplane:image:kind", value: img.kind },
      { name: "podplane:image:arch", value: img.arch },
      { name: "podplane:image:os", value: img.os },
      { name: "podplane:image:target", value: img.target },
      ...Object.entries(img.amis ?? {}).map(([region, ami]) => ({ name: `podplane:image:ami:${region}`, value: ami })),
    ],
  };
  return {
    bomFormat: "CycloneDX",
    specVersion: "1.6",
    serialNumber: `urn:uuid:${documentUuid(inv)}`,
    version: 1,
    metadata: {
      timestamp: inv.created,
      tools: { components: [{ type: "application", name: inv.tool.name, version: inv.tool.version }] },
      component: image,
      properties: [{ name: "podplane:dpkg-source", value: inv.dpkgSource }],
    },
    components: inv.components.map(component),
    dependencies: [{ ref: "image", dependsOn: inv.components.map((c) => c.ref) }, ...inv.components.map((c) => ({ ref: c.ref }))],
  };
}
