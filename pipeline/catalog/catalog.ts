// The one place that knows every dependency: where upstream publishes it (URL template),
// what kind of archive it is, which VM kinds need it, and where and in which format upstream
// publishes its checksum. Facts from DESIGN.md ("Upstream artifacts").
import { UsageError } from "../errors/index.js";
import type { Arch, ArtifactType, Kind } from "../manifest/schema.js";
import type { ChecksumAlgorithm, ChecksumFormat } from "./checksums.js";

export interface ChecksumSource {
  /** URL of the checksum file for this version and arch. */
  url: (version: string, arch: Arch) => string;
  format: ChecksumFormat;
  algorithm: ChecksumAlgorithm;
}

/**
 * A keyless Sigstore signature upstream publishes, verified by pin (pipeline/trust/sigstore-pin.ts)
 * against the identity of that name in trust/sigstore/identities.json.
 */
export type SigstoreSource =
  | { over: "artifact"; signature: (version: string, arch: Arch) => string; certificate: (version: string, arch: Arch) => string; identity: string }
  | { over: "checksum-file"; bundle: (checksumUrl: string) => string; identity: string };

/**
 * How upstream PGP-signs what names the digest; pin verifies it against the keys pinned in
 * trust/<keyring> (see trust/README.md). An entry has this, `sigstore`, or neither (then
 * upstream publishes no signature pin can check, and pin says so).
 */
export type SignatureSource =
  /** An apt repository: InRelease (signed) → Packages index (by InRelease's SHA256) → .deb (by Packages' SHA256). */
  | { kind: "apt-inrelease"; keyring: string; root: string; suite: string; component: string }
  /** The checksum file itself is PGP clear-signed. */
  | { kind: "pgp-clearsigned"; keyring: string };

export interface CatalogEntry {
  name: string;
  type: ArtifactType;
  kinds: readonly Kind[];
  url: (version: string, arch: Arch) => string;
  /** Upstream's checksum file; undefined when there is none we can read (then `noChecksum` says why). */
  checksum: ChecksumSource | undefined;
  noChecksum?: string;
  /** The digest algorithm `pin` writes when there is no checksum file to follow. */
  algorithm: ChecksumAlgorithm;
  /** PGP: a signed apt repository or a clear-signed checksum file. */
  signature?: SignatureSource;
  /** Sigstore: a keyless signature over the artifact or a bundle over its checksum file. */
  sigstore?: SigstoreSource;
}

const BOTH: readonly Kind[] = ["knd", "knc"];
const CONTROL_PLANE: readonly Kind[] = ["knc"];

const GITHUB = "https://github.com";
const DEBIAN_ARCHIVE = "https://deb.debian.org/debian/";
const DEBIAN_SUITE = "trixie"; // Debian 13, the OS of every image
const FLUENT_BIT_ARCHIVE = `https://packages.fluentbit.io/debian/${DEBIAN_SUITE}/`;

/** The directory of a URL, with a trailing slash. */
function folderOf(url: string): string {
  return url.slice(0, url.lastIndexOf("/") + 1);
}

function kubernetes(name: string, kinds: readonly Kind[]): CatalogEntry {
  const url = (v: string, a: Arch) => `https://dl.k8s.io/release/v${v}/bin/linux/${a}/${name}`;
  return {
    name,
    type: "binary",
    kinds,
    url,
    checksum: { url: (v, a) => `${url(v, a)}.sha256`, format: "hex", algorithm: "sha256" },
    algorithm: "sha256",
    // cosign keyless: {bin}.sig + {bin}.cert beside each binary
    sigstore: { over: "artifact", signature: (v, a) => `${url(v, a)}.sig`, certificate: (v, a) => `${url(v, a)}.cert`, identity: "kubernetes-release" },
  };
}

/** A GitHub release asset whose checksum file sits in the same release. */
function githubRelease(
  entry: Omit<CatalogEntry, "checksum" | "algorithm" | "url"> & {
    url: (v: string, a: Arch) => string;
    sums: (assetUrl: string, v: string) => string;
    format: ChecksumFormat;
    algorithm: ChecksumAlgorithm;
  },
): CatalogEntry {
  const { sums, format, algorithm, ...rest } = entry;
  return { ...rest, algorithm, checksum: { url: (v, a) => sums(entry.url(v, a), v), format, algorithm } };
}

function debianPool(name: string, pool: (v: string) => string): CatalogEntry {
  return {
    name,
    type: "deb",
    kinds: BOTH,
    url: (v, a) => `${DEBIAN_ARCHIVE}pool/main/${pool(v)}/${name}_${v}_${a}.deb`,
    // no checksum file: the digest comes from the suite's signed InRelease and Packages
    checksum: undefined,
    algorithm: "sha256",
    signature: { kind: "apt-inrelease", keyring: "debian", root: DEBIAN_ARCHIVE, suite: DEBIAN_SUITE, component: "main" },
  };
}

export const CATALOG: readonly CatalogEntry[] = [
  kubernetes("kubelet", BOTH),
  kubernetes("kube-apiserver", CONTROL_PLANE),
  kubernetes("kube-scheduler", CONTROL_PLANE),
  kubernetes("kube-controller-manager", CONTROL_PLANE),
  kubernetes("kubectl", CONTROL_PLANE),
  githubRelease({
    name: "containerd",
    type: "tar.gz",
    kinds: BOTH,
    url: (v, a) => `${GITHUB}/containerd/containerd/releases/download/v${v}/containerd-${v}-linux-${a}.tar.gz`,
    sums: (asset) => `${asset}.sha256sum`,
    format: "hex-name",
    algorithm: "sha256",
  }),
  githubRelease({
    name: "runc",
    type: "binary",
    kinds: BOTH,
    url: (v, a) => `${GITHUB}/opencontainers/runc/releases/download/v${v}/runc.${a}`,
    sums: (asset) => `${folderOf(asset)}runc.sha256sum`,
    format: "pgp-hex-name",
    algorithm: "sha256",
    signature: { kind: "pgp-clearsigned", keyring: "runc" },
  }),
  githubRelease({
    name: "cni-plugins",
    type: "tar.gz",
    kinds: BOTH,
    url: (v, a) => `${GITHUB}/containernetworking/plugins/releases/download/v${v}/cni-plugins-linux-${a}-v${v}.tgz`,
    sums: (asset) => `${asset}.sha256`,
    format: "hex-name",
    algorithm: "sha256",
  }),
  githubRelease({
    name: "crictl",
    type: "tar.gz",
    kinds: BOTH,
    url: (v, a) => `${GITHUB}/kubernetes-sigs/cri-tools/releases/download/v${v}/crictl-v${v}-linux-${a}.tar.gz`,
    sums: (asset) => `${asset}.sha256`,
    format: "hex",
    algorithm: "sha256",
  }),
  githubRelease({
    name: "zot",
    type: "binary",
    kinds: BOTH,
    url: (v, a) => `${GITHUB}/project-zot/zot/releases/download/v${v}/zot-linux-${a}-minimal`,
    sums: (asset) => `${folderOf(asset)}checksums.sha256.txt`,
    format: "hex-star-name",
    algorithm: "sha256",
  }),
  githubRelease({
    name: "netsy",
    type: "tar.gz",
    kinds: CONTROL_PLANE,
    url: (v, a) => `${GITHUB}/netsy-dev/netsy/releases/download/v${v}/netsy_${v}_linux_${a}.tar.gz`,
    sums: (asset, v) => `${folderOf(asset)}netsy_${v}_checksums.txt`,
    format: "hex-name",
    algorithm: "sha512",
  }),
  githubRelease({
    name: "nstance-agent",
    type: "tar.gz",
    kinds: BOTH,
    url: (v, a) => `${GITHUB}/nstance-dev/nstance/releases/download/v${v}/nstance-agent_${v}_linux_${a}.tar.gz`,
    sums: (asset, v) => `${folderOf(asset)}nstance_${v}_checksums.txt`,
    format: "hex-name",
    algorithm: "sha512",
  }),
  githubRelease({
    name: "kube2iam",
    type: "tar.gz",
    kinds: BOTH,
    // No upstream binary release: Podplane rebuilds it; the tag has no "v".
    url: (v, a) => `${GITHUB}/podplane/kube2iam-binaries/releases/download/${v}/kube2iam_${v}_linux_${a}.tar.gz`,
    sums: (asset, v) => `${folderOf(asset)}kube2iam_${v}_checksums.txt`,
    format: "hex-name",
    algorithm: "sha512",
    // the release workflow signs the checksum file keylessly: kube2iam_{V}_checksums.txt.bundle
    sigstore: { over: "checksum-file", bundle: (sums) => `${sums}.bundle`, identity: "kube2iam-release" },
  }),
  {
    name: "fluent-bit",
    type: "deb",
    kinds: BOTH,
    url: (v, a) => `${FLUENT_BIT_ARCHIVE}pool/main/f/fluent-bit/fluent-bit_${v}_${a}.deb`,
    checksum: undefined,
    algorithm: "sha256",
    signature: { kind: "apt-inrelease", keyring: "fluent-bit", root: FLUENT_BIT_ARCHIVE, suite: DEBIAN_SUITE, component: "main" },
  },
  debianPool("libpq5", (v) => `p/postgresql-${v.split(".")[0] ?? v}`),
  debianPool("uidmap", () => "s/shadow"),
  debianPool("libsubid5", () => "s/shadow"),
];

/** Names that stand for several entries: `pin kubernetes@V` pins every Kubernetes binary. */
export const CATALOG_GROUPS: Readonly<Record<string, readonly string[]>> = {
  kubernetes: ["kubelet", "kube-apiserver", "kube-scheduler", "kube-controller-manager", "kubectl"],
};

export function catalogEntry(name: string): CatalogEntry | undefined {
  return CATALOG.find((entry) => entry.name === name);
}

/** The entries a name stands for (a group or one dependency); a usage error for an unknown name. */
export function resolveCatalogName(name: string): CatalogEntry[] {
  const names = CATALOG_GROUPS[name] ?? [name];
  const entries = names.map(catalogEntry).filter((entry): entry is CatalogEntry => entry !== undefined);
  if (entries.length === 0) {
    const known = [...Object.keys(CATALOG_GROUPS), ...CATALOG.map((entry) => entry.name)].join(", ");
    throw new UsageError(`unknown dependency ${JSON.stringify(name)}; expected one of ${known}`, "EUNKNOWNDEP");
  }
  return entries;
}

/** The dependencies a kind needs, by name. */
export function catalogForKind(kind: Kind): CatalogEntry[] {
  return CATALOG.filter((entry) => entry.kinds.includes(kind));
}
