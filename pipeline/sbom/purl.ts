// Package URLs (github.com/package-url/purl-spec) for what an image holds: Debian packages
// (pkg:deb/<vendor>/<name>@<version>?arch=..&distro=..), GitHub release assets
// (pkg:github/<owner>/<repo>@<tag>?download_url=..), other downloads (pkg:generic/<name>@<version>
// ?download_url=..&checksum=..) and OCI images (pkg:oci/<name>@sha256:..?repository_url=..).

/** Percent-encodes a purl component: the spec keeps letters, digits, `.-_~` (and `:` in versions). */
function encode(value: string, keep = ""): string {
  let out = "";
  for (const byte of Buffer.from(value, "utf8")) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9._~-]/.test(c) || keep.includes(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** Qualifiers sorted by key, values encoded (`/` and `:` kept, as URLs in qualifiers commonly are). */
function qualifiers(q: Record<string, string | undefined>): string {
  const pairs = Object.entries(q)
    .filter((e): e is [string, string] => e[1] !== undefined && e[1] !== "")
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${encode(v, "/:")}`);
  return pairs.length > 0 ? `?${pairs.join("&")}` : "";
}

export function purl(type: string, namespace: string | undefined, name: string, version: string, q: Record<string, string | undefined> = {}): string {
  const ns = namespace ? `${namespace.split("/").map((s) => encode(s)).join("/")}/` : "";
  return `pkg:${type}/${ns}${encode(name)}@${encode(version, ":")}${qualifiers(q)}`;
}

export function debPurl(vendor: string, name: string, version: string, arch: string, distro: string, repositoryUrl?: string): string {
  return purl("deb", vendor, name, version, { arch, distro, repository_url: repositoryUrl });
}

const DEBIAN_HOSTS = /^(deb|ftp|security|snapshot|archive)\.debian\.org$/;

/** The vendor and repository of a .deb URL: Debian's archive, or a third-party repository (its domain, its pool's parent). */
export function debOrigin(url: URL): { vendor: string; repositoryUrl?: string } {
  if (DEBIAN_HOSTS.test(url.hostname)) return { vendor: "debian" };
  const labels = url.hostname.split(".");
  const vendor = labels.length >= 2 ? (labels.at(-2) ?? url.hostname) : url.hostname;
  const pool = url.pathname.indexOf("/pool/");
  return { vendor, repositoryUrl: `${url.origin}${pool >= 0 ? url.pathname.slice(0, pool) : ""}` };
}

/** A GitHub release asset: owner, repository and tag from `/<owner>/<repo>/releases/download/<tag>/<file>`. */
export function githubRelease(url: URL): { owner: string; repo: string; tag: string } | undefined {
  if (url.hostname !== "github.com") return undefined;
  const m = /^\/([^/]+)\/([^/]+)\/releases\/download\/([^/]+)\/[^/]+$/.exec(url.pathname);
  return m?.[1] && m[2] && m[3] ? { owner: m[1], repo: m[2], tag: decodeURIComponent(m[3]) } : undefined;
}

/** `registry/path/name:tag` → the pkg:oci purl of one platform manifest. */
export function ociPurl(image: string, digest: string, arch: string): string {
  const colon = image.lastIndexOf(":");
  const repository = image.slice(0, colon);
  const tag = image.slice(colon + 1);
  const name = repository.slice(repository.lastIndexOf("/") + 1);
  return purl("oci", undefined, name, digest, { arch, repository_url: repository, tag });
}
