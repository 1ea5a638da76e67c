import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CATALOG, catalogEntry, catalogForKind, clearSignedText, parseChecksumFile, resolveCatalogName, type ChecksumQuery } from "../../pipeline/catalog/index.js";
import { UsageError, WorkError } from "../../pipeline/errors/index.js";
import { loadManifests } from "../../pipeline/manifest/index.js";

const FIXTURES = path.join(import.meta.dirname, "fixtures");
const MANIFESTS = path.resolve(import.meta.dirname, "../../manifests");

function fixture(name: string): Promise<string> {
  return readFile(path.join(FIXTURES, name), "utf8");
}

function query(overrides: Partial<ChecksumQuery>): ChecksumQuery {
  return { format: "hex", algorithm: "sha256", fileName: "x", source: "fixture", ...overrides };
}

describe("catalog", () => {
  it("builds exactly the URLs, types and kinds of the seeded manifests", async () => {
    const manifests = await loadManifests(MANIFESTS);
    for (const m of manifests) {
      const fetched = m.dependencies.filter((d) => !d.local);
      expect(fetched.map((d) => d.name).sort()).toEqual(catalogForKind(m.kind).map((e) => e.name).sort());
      for (const dep of fetched) {
        const entry = catalogEntry(dep.name);
        expect(entry?.url(dep.version, m.arch), `${m.file} ${dep.name}`).toBe(dep.url);
        expect(entry?.type).toBe(dep.type);
        if (dep.digest && entry?.checksum) expect(dep.digest.startsWith(`${entry.checksum.algorithm}:`), dep.name).toBe(true);
      }
    }
  });

  it("places each checksum file where upstream publishes it", () => {
    const url = (name: string, v: string) => catalogEntry(name)?.checksum?.url(v, "arm64");
    expect(url("kubectl", "1.36.1")).toBe("https://dl.k8s.io/release/v1.36.1/bin/linux/arm64/kubectl.sha256");
    expect(url("runc", "1.4.2")).toBe("https://github.com/opencontainers/runc/releases/download/v1.4.2/runc.sha256sum");
    expect(url("zot", "2.1.17")).toBe("https://github.com/project-zot/zot/releases/download/v2.1.17/checksums.sha256.txt");
    expect(url("netsy", "1.1.0")).toBe("https://github.com/netsy-dev/netsy/releases/download/v1.1.0/netsy_1.1.0_checksums.txt");
    expect(url("nstance-agent", "1.2.3")).toBe("https://github.com/nstance-dev/nstance/releases/download/v1.2.3/nstance_1.2.3_checksums.txt");
    expect(url("kube2iam", "0.11.2")).toBe("https://github.com/podplane/kube2iam-binaries/releases/download/0.11.2/kube2iam_0.11.2_checksums.txt");
    expect(url("containerd", "2.3.1")).toBe(
      "https://github.com/containerd/containerd/releases/download/v2.3.1/containerd-2.3.1-linux-arm64.tar.gz.sha256sum",
    );
    expect(catalogEntry("libpq5")?.checksum).toBeUndefined();
    expect(catalogEntry("libpq5")?.signature).toEqual({ kind: "apt-inrelease", keyring: "debian", root: "https://deb.debian.org/debian/", suite: "trixie", component: "main" });
    expect(catalogEntry("fluent-bit")?.signature).toMatchObject({ kind: "apt-inrelease", keyring: "fluent-bit", root: "https://packages.fluentbit.io/debian/trixie/" });
    expect(catalogEntry("runc")?.signature).toEqual({ kind: "pgp-clearsigned", keyring: "runc" });
  });

  it("resolves kubernetes to every Kubernetes binary and refuses an unknown name", () => {
    expect(resolveCatalogName("kubernetes").map((e) => e.name)).toEqual(["kubelet", "kube-apiserver", "kube-scheduler", "kube-controller-manager", "kubectl"]);
    expect(() => resolveCatalogName("etcd")).toThrow(UsageError);
    expect(CATALOG.filter((e) => e.kinds.includes("knd") && !e.kinds.includes("knc"))).toEqual([]);
  });
});

describe("checksum files", () => {
  it("reads a bare hex digest", async () => {
    expect(parseChecksumFile(await fixture("kubelet.sha256"), query({ fileName: "kubelet" }))).toBe(
      "7efa1780c73d9fb3a464002864e582eb2d15aa691e475eaae323093d08feae14",
    );
    expect(() => parseChecksumFile("<html>not found</html>", query({}))).toThrow(/expected a bare sha256 hex digest/);
    expect(() => parseChecksumFile("abc123", query({}))).toThrow(WorkError);
  });

  it("reads `hex  name` lines, sha256 and sha512", async () => {
    const q = query({ format: "hex-name", fileName: "containerd-2.3.1-linux-amd64.tar.gz" });
    expect(parseChecksumFile(await fixture("containerd-2.3.1-linux-amd64.tar.gz.sha256sum"), q)).toBe(
      "628448bd973610c656c1cbea8e88b32fafd85b23cc1aa4a3372eb7198478c054",
    );
    const netsy = await fixture("netsy_1.1.0_checksums.txt");
    expect(parseChecksumFile(netsy, query({ format: "hex-name", algorithm: "sha512", fileName: "netsy_1.1.0_linux_amd64.tar.gz" }))).toMatch(/^e0e652b5/);
    expect(() => parseChecksumFile(netsy, query({ format: "hex-name", algorithm: "sha512", fileName: "netsy_1.1.0_linux_riscv64.tar.gz" }))).toThrow(
      "fixture: no checksum for netsy_1.1.0_linux_riscv64.tar.gz; it lists netsy_1.1.0_linux_amd64.tar.gz, netsy_1.1.0_linux_arm64.tar.gz",
    );
    // a sha256 where a sha512 is expected is refused, not truncated or padded
    expect(() => parseChecksumFile(`${"a".repeat(64)}  f.tgz\n`, query({ format: "hex-name", algorithm: "sha512", fileName: "f.tgz" }))).toThrow(/holds no sha512 digest/);
    expect(parseChecksumFile(`${"b".repeat(64)}  ./dist/f.tgz\n`, query({ format: "hex-name", fileName: "f.tgz" }))).toBe("b".repeat(64));
  });

  it("reads `hex *name` lines and picks the exact name", async () => {
    const text = await fixture("checksums.sha256.txt");
    expect(parseChecksumFile(text, query({ format: "hex-star-name", fileName: "zot-linux-amd64-minimal" }))).toBe(
      "523e5bf29a013db09115f780c3152af98fc5b65fc408a0d3e6c293643dc9bde7",
    );
    expect(() => parseChecksumFile(`${"c".repeat(64)}  zot\n`, query({ format: "hex-star-name", fileName: "zot" }))).toThrow(/expected "hex \*name" lines/);
  });

  it("reads `hex  name` lines inside a PGP clear-signed message", async () => {
    const text = await fixture("runc.sha256sum");
    expect(parseChecksumFile(text, query({ format: "pgp-hex-name", fileName: "runc.amd64" }))).toBe("ac8a90f9e225bb9322189937b230cdc5478d5753f0e31e1bda98a5cf06bd9539");
    expect(clearSignedText(text)).toContain("-----not a checksum line");
    expect(clearSignedText(text)).not.toContain("Hash: SHA256");
    expect(clearSignedText(text)).not.toContain("PGP SIGNATURE");
    // the same lines outside an armor are refused for this format
    expect(() => parseChecksumFile("ac8a90f9e225bb9322189937b230cdc5478d5753f0e31e1bda98a5cf06bd9539  runc.amd64\n", query({ format: "pgp-hex-name", fileName: "runc.amd64" }))).toThrow(
      /expected a PGP clear-signed message/,
    );
  });
});
