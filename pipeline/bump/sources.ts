// Where each dependency's newest version is published. GitHub-hosted ones are derived from the
// catalog's own download URL (owner/repo and the tag's shape around the version: `v1.4.2`, or
// `0.11.2` for kube2iam-binaries), so a catalog change carries over. Kubernetes binaries follow
// dl.k8s.io's stable markers; the .debs their apt repository's Packages index (the facts of
// podplane/vmconfig's scripts/manifests/sources.go: Debian's trixie main, and Fluent's own
// trixie repository, which serves Packages uncompressed).
import { CATALOG_GROUPS, catalogEntry, type CatalogEntry } from "../catalog/index.js";
import type { Arch } from "../manifest/index.js";
import type { TagShape } from "./release-version.js";

export type UpstreamSource =
  | { kind: "kubernetes" }
  | { kind: "github"; owner: string; repo: string; shape: TagShape }
  | {
      kind: "apt";
      /** The package's name in the index. */
      package: string;
      /** The Packages index of an arch. */
      index: (arch: Arch) => string;
    };

const DEBIAN_SUITE = "https://deb.debian.org/debian/dists/trixie";
const FLUENT_SUITE = "https://packages.fluentbit.io/debian/trixie/dists/trixie";

const APT: Readonly<Record<string, { suite: string; file: string }>> = {
  libpq5: { suite: DEBIAN_SUITE, file: "Packages.gz" },
  uidmap: { suite: DEBIAN_SUITE, file: "Packages.gz" },
  libsubid5: { suite: DEBIAN_SUITE, file: "Packages.gz" },
  "fluent-bit": { suite: FLUENT_SUITE, file: "Packages" },
};

/** A version no real release has, to find where the catalog puts the version in a URL. */
const PROBE = "9876.54321.0";

/** owner/repo and the tag's shape from a `https://github.com/O/R/releases/download/<tag>/...` URL template. */
export function githubSourceOf(entry: CatalogEntry): UpstreamSource | undefined {
  const url = new URL(entry.url(PROBE, "amd64"));
  const parts = url.pathname.split("/").filter(Boolean);
  if (url.host !== "github.com" || parts[2] !== "releases" || parts[3] !== "download" || !parts[0] || !parts[1]) return undefined;
  const tag = decodeURIComponent(parts[4] ?? "");
  const at = tag.indexOf(PROBE);
  if (at < 0) return undefined;
  return { kind: "github", owner: parts[0], repo: parts[1], shape: { prefix: tag.slice(0, at), suffix: tag.slice(at + PROBE.length) } };
}

/** The upstream source of a catalog dependency; undefined when bump knows none. */
export function upstreamSourceOf(name: string): UpstreamSource | undefined {
  if (CATALOG_GROUPS.kubernetes?.includes(name)) return { kind: "kubernetes" };
  const apt = APT[name];
  if (apt) return { kind: "apt", package: name, index: (arch) => `${apt.suite}/main/binary-${arch}/${apt.file}` };
  const entry = catalogEntry(name);
  return entry ? githubSourceOf(entry) : undefined;
}
