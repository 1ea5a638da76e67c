// The upstream listings bump reads, served in mirror layout (`/<host>/<path>`) on a fixture
// server or written into a mirror directory: GitHub release listings, dl.k8s.io's stable
// markers, apt Packages indexes (Debian's gzipped, Fluent's plain) and a registry tags list.
// The versions are chosen against the seeded manifests so every source has a known answer.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { gzipSync } from "node:zlib";
import type { FixtureServer } from "../fixtures/http-server.js";

export interface Release {
  tag_name: string;
  draft?: boolean;
  prerelease?: boolean;
}

const rel = (tag_name: string, extra: Partial<Release> = {}): Release => ({ tag_name, draft: false, prerelease: false, ...extra });

/** owner/repo → its releases, newest first as GitHub lists them. */
export const RELEASES: Record<string, Release[]> = {
  // a flagged prerelease, a draft and another tag family are skipped: 2.3.2 is the newest
  "containerd/containerd": [rel("v3.0.0", { draft: true }), rel("v2.4.0-rc.1", { prerelease: true }), rel("api/v1.10.0"), rel("v2.3.2"), rel("v2.3.1")],
  // a semver prerelease the project did not flag is skipped too
  "opencontainers/runc": [rel("v1.5.0-rc.1"), rel("v1.4.2"), rel("v1.4.1")],
  // 1.10.0 > 1.9.1: numbers, not strings
  "containernetworking/plugins": [rel("v1.10.0"), rel("v1.9.1")],
  "kubernetes-sigs/cri-tools": [rel("v1.36.0"), rel("v1.35.2")],
  "project-zot/zot": [rel("v2.1.17"), rel("v2.1.9")],
  "netsy-dev/netsy": [rel("v1.1.0")],
  "nstance-dev/nstance": [rel("v1.2.3")],
  // kube2iam-binaries tags have no "v": a "v" tag is another shape
  "podplane/kube2iam-binaries": [rel("v9.9.9"), rel("0.11.3"), rel("0.11.2")],
};

export const STABLE = { "stable-1.36.txt": "v1.36.3\n", "stable.txt": "v1.37.1\n" };

interface Stanza {
  name: string;
  version: string;
  arch: string;
}

function packagesText(stanzas: readonly Stanza[]): string {
  return stanzas
    .map(
      (s) =>
        `Package: ${s.name}\nSource: fixture\nVersion: ${s.version}\nArchitecture: ${s.arch}\nDescription: fixture package\n a continuation line\n .\n Version: 99 (inside a description, not a field)\nFilename: pool/main/x/${s.name}_${s.version.replace(/^\d+:/, "")}_${s.arch}.deb\n`,
    )
    .join("\n");
}

/** Debian trixie main per arch: libpq5 has a point release; libsubid5 a new revision on amd64 only; uidmap carries its epoch. */
export function debianPackages(arch: "amd64" | "arm64"): Stanza[] {
  return [
    { name: "libpq5", version: "17.9-0+deb13u1", arch },
    { name: "libpq5", version: "17.10-0+deb13u1", arch },
    { name: "libpq5", version: "17.10~rc1-1", arch },
    { name: "libpq5", version: "99.0-1", arch: arch === "amd64" ? "arm64" : "amd64" }, // another arch: never a candidate
    { name: "uidmap", version: "1:4.17.4-2", arch },
    { name: "uidmap", version: "1:4.17.4-2~bpo12+1", arch },
    { name: "libsubid5", version: "1:4.17.4-2", arch },
    ...(arch === "amd64" ? [{ name: "libsubid5", version: "1:4.17.4-3", arch }] : []),
    { name: "unrelated", version: "1.0", arch: "all" },
  ];
}

export function fluentPackages(arch: "amd64" | "arm64"): Stanza[] {
  return [
    { name: "fluent-bit", version: "5.0.5", arch },
    { name: "fluent-bit", version: "5.0.10", arch }, // 5.0.10 > 5.0.5
  ];
}

export const PAUSE_TAGS = ["3.1", "3.9", "3.10", "3.10.1", "3.10.2", "3.11.0-rc.0", "latest", "sha256-3f1b.sig"];

/** Every listing as mirror-relative path → bytes. */
export function listings(): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const [repo, releases] of Object.entries(RELEASES)) files.set(`api.github.com/repos/${repo}/releases`, Buffer.from(JSON.stringify(releases)));
  for (const [marker, text] of Object.entries(STABLE)) files.set(`dl.k8s.io/release/${marker}`, Buffer.from(text));
  for (const arch of ["amd64", "arm64"] as const) {
    files.set(`deb.debian.org/debian/dists/trixie/main/binary-${arch}/Packages.gz`, gzipSync(packagesText(debianPackages(arch))));
    files.set(`packages.fluentbit.io/debian/trixie/dists/trixie/main/binary-${arch}/Packages`, Buffer.from(packagesText(fluentPackages(arch))));
  }
  files.set("registry.k8s.io/v2/pause/tags/list", Buffer.from(JSON.stringify({ name: "pause", tags: PAUSE_TAGS })));
  return files;
}

export function serveListings(server: FixtureServer, skip: readonly string[] = []): void {
  for (const [file, bytes] of listings()) if (!skip.some((s) => file.startsWith(s))) server.file(`/${file}`, bytes);
}

export async function writeListings(dir: string): Promise<void> {
  for (const [file, bytes] of listings()) {
    const target = path.join(dir, ...file.split("/"));
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, bytes);
  }
}
