// What an image holds, in one neutral list both SBOM formats render: the Debian packages of its
// dpkg database, every pinned artifact of its lock manifest (a .deb that dpkg lists installed at
// the pinned version is one entry: the installed package, with the pinned file's digest and URL),
// its container images, vmconfig (the digest of the archive baked in) and the base it started from.
import { WorkError } from "../errors/index.js";
import type { Manifest } from "../manifest/load.js";
import { parseDigest, type DigestAlgorithm } from "../manifest/digest.js";
import type { DpkgPackage } from "./dpkg.js";
import { debOrigin, debPurl, githubRelease, ociPurl, purl } from "./purl.js";

export type ComponentKind = "deb" | "artifact" | "container-image" | "vmconfig";

export interface Checksum {
  algorithm: DigestAlgorithm;
  hex: string;
}

export interface Component {
  /** Unique within the document: letters, digits, `.` and `-` (an SPDX ID after `SPDXRef-`). */
  ref: string;
  kind: ComponentKind;
  name: string;
  version: string;
  purl: string;
  checksums: Checksum[];
  /** Where the pinned file came from; undefined for packages only known from the dpkg database. */
  downloadUrl?: string;
  /** Pinned in the lock manifest (an artifact, image or vmconfig), not only found installed. */
  pinned: boolean;
  /** Debian packages: the architecture and source package. */
  architecture?: string;
  source?: { name: string; version: string };
  homepage?: string;
  /** Container images: the index digest the platform manifest was resolved from. */
  index?: string;
}

export interface ImageSubject {
  name: string;
  kind: string;
  arch: string;
  os: string;
  target: "qemu" | "aws";
  /** qemu: the qcow2's digest. */
  digest?: string;
  /** aws: AMI ID per region. */
  amis?: Record<string, string>;
}

export interface BaseImage {
  source: string;
  digest: string;
  /** The lock manifest's os.image when the image was baked from it (the cloud base). */
  url?: string;
  version?: string;
}

export interface Inventory {
  image: ImageSubject;
  base: BaseImage;
  components: Component[];
  /** ISO time, seconds precision, UTC. */
  created: string;
  tool: { name: string; version: string };
  /** Where the package list was read (for the document's comment): never a host path. */
  dpkgSource: string;
}

export interface InventoryInput {
  image: ImageSubject;
  manifest: Manifest;
  packages: readonly DpkgPackage[];
  vmconfigDigest: string;
  base: { source: string; digest: string };
  created: Date;
  tool: { name: string; version: string };
  dpkgSource: string;
}

function checksumOf(digest: string, what: string): Checksum {
  const parsed = parseDigest(digest);
  if (!parsed) throw new WorkError("ESBOMINPUT", `${what}: expected a digest sha256:<hex> or sha512:<hex>, found ${JSON.stringify(digest)}`, { what, digest });
  return parsed;
}

/** Refs unique and SPDX-safe: other characters become `-`, a repeat gets a counter. */
class Refs {
  private readonly used = new Set<string>();
  take(prefix: string, name: string): string {
    const base = `${prefix}-${name.replace(/[^A-Za-z0-9.-]/g, "-")}`;
    let ref = base;
    for (let i = 2; this.used.has(ref); i++) ref = `${base}-${i}`;
    this.used.add(ref);
    return ref;
  }
}

function artifactPurl(name: string, version: string, url: string, digest: string, arch: string, distro: string): string {
  const parsed = new URL(url);
  if (url.endsWith(".deb")) {
    const origin = debOrigin(parsed);
    return debPurl(origin.vendor, name, version, arch, distro, origin.repositoryUrl);
  }
  const release = githubRelease(parsed);
  if (release) return purl("github", release.owner, release.repo, release.tag, { download_url: url });
  return purl("generic", undefined, name, version, { download_url: url, checksum: digest });
}

export function buildInventory(input: InventoryInput): Inventory {
  const m = input.manifest;
  const refs = new Refs();
  const components: Component[] = [];
  const pinnedDebs = new Map(m.dependencies.filter((d) => d.type === "deb" && !d.local).map((d) => [d.name, d]));
  const merged = new Set<string>();
  for (const p of input.packages) {
    const pin = pinnedDebs.get(p.name);
    // The installed package is the pinned .deb when name, version and arch agree.
    const same = pin !== undefined && pin.version === p.version && (p.architecture === m.arch || p.architecture === "all");
    if (same) merged.add(p.name);
    components.push({
      ref: refs.take("deb", `${p.name}-${p.architecture}`),
      kind: "deb",
      name: p.name,
      version: p.version,
      purl: same ? artifactPurl(p.name, p.version, pin.url, pin.digest, p.architecture, m.os) : debPurl("debian", p.name, p.version, p.architecture, m.os),
      checksums: same ? [checksumOf(pin.digest, `${m.file}: ${pin.name}`)] : [],
      ...(same ? { downloadUrl: pin.url } : {}),
      pinned: same,
      architecture: p.architecture,
      source: { name: p.source, version: p.sourceVersion },
      ...(p.homepage ? { homepage: p.homepage } : {}),
    });
  }
  for (const d of m.dependencies) {
    if (d.local || merged.has(d.name)) continue;
    // `fetch` refuses an unpinned artifact, so a real bake never has one; listed as it is, never given a digest.
    components.push({
      ref: refs.take("artifact", d.name),
      kind: d.type === "deb" ? "deb" : "artifact",
      name: d.name,
      version: d.version,
      purl: artifactPurl(d.name, d.version, d.url, d.digest, m.arch, m.os),
      checksums: d.digest === "" ? [] : [checksumOf(d.digest, `${m.file}: ${d.name}`)],
      downloadUrl: d.url,
      pinned: d.digest !== "",
    });
  }
  for (const image of m.images) {
    const colon = image.image.lastIndexOf(":");
    components.push({
      ref: refs.take("oci", image.image),
      kind: "container-image",
      name: image.image.slice(0, colon),
      version: image.image.slice(colon + 1),
      purl: ociPurl(image.image, image.digest, m.arch),
      checksums: [checksumOf(image.digest, `${m.file}: ${image.image}`)],
      pinned: true,
      index: image.index,
    });
  }
  const vmconfig = m.dependencies.find((d) => d.local);
  const vmconfigSum = checksumOf(input.vmconfigDigest, "the packed vmconfig");
  components.push({
    ref: refs.take("vmconfig", "vmconfig"),
    kind: "vmconfig",
    name: "vmconfig",
    version: vmconfig?.version ?? m.version,
    purl: purl("generic", "podplane", "vmconfig", vmconfig?.version ?? m.version, { checksum: input.vmconfigDigest }),
    checksums: [vmconfigSum],
    pinned: true,
  });
  const cloud = input.base.digest === m.baseImage.digest;
  return {
    image: input.image,
    base: { ...input.base, ...(cloud ? { url: m.baseImage.url, version: m.baseImage.version } : {}) },
    components,
    created: `${input.created.toISOString().slice(0, 19)}Z`,
    tool: input.tool,
    dpkgSource: input.dpkgSource,
  };
}
