// The SBOMs of an image: built from a real dpkg status file (this host's) and a real lock
// manifest, validated against the official SPDX 2.3 and CycloneDX 1.6 schemas; every pinned
// artifact, container image, vmconfig and every installed package listed; byte-identical on rewrite.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_MANIFESTS_DIR } from "../../pipeline/cli/options.js";
import { parseDpkgStatus } from "../../pipeline/inspect/index.js";
import { loadManifest, type Manifest } from "../../pipeline/manifest/load.js";
import { buildInventory, parseDpkgPackages, renderCycloneDx, renderSpdx, writeImageSbom, type InventoryInput } from "../../pipeline/sbom/index.js";
import { tempDir } from "../helpers/temp-dir.js";
import { cycloneDxValidator, errorsOf, spdxValidator } from "./schemas.js";

const HOST_STATUS = "/var/lib/dpkg/status";
const KUBE2IAM_DIGEST = `sha512:${"ab".repeat(64)}`;
const VMCONFIG_DIGEST = `sha256:${"cd".repeat(32)}`;
const QCOW2_DIGEST = `sha256:${"ef".repeat(32)}`;

/** The lock manifest with kube2iam pinned (the repository's is not until `pin` runs online). */
async function pinnedManifest(): Promise<Manifest> {
  const m = await loadManifest(path.join(DEFAULT_MANIFESTS_DIR, "knc.debian-13.amd64.json"));
  return { ...m, dependencies: m.dependencies.map((d) => (d.name === "kube2iam" ? { ...d, digest: KUBE2IAM_DIGEST, size: 1 } : d)) };
}

/** The host's dpkg status plus the pinned libpq5 installed at its pinned version (as install.sh leaves it). */
async function statusText(m: Manifest): Promise<string> {
  const libpq5 = m.dependencies.find((d) => d.name === "libpq5");
  const host = await readFile(HOST_STATUS, "utf8");
  const extra = `Package: libpq5\nStatus: install ok installed\nArchitecture: amd64\nSource: postgresql-17\nVersion: ${libpq5?.version ?? ""}\nDescription: PostgreSQL C client library\n continuation line\n`;
  return `${host.replace(/^Package: libpq5\n[\s\S]*?(\n\n|$)/m, "")}\n\n${extra}`;
}

describe("SBOM of an image (host dpkg status + the knc amd64 lock manifest)", () => {
  let manifest: Manifest;
  let text = "";
  let input: InventoryInput;
  beforeAll(async () => {
    manifest = await pinnedManifest();
    text = await statusText(manifest);
    input = {
      image: { name: "podplane-knc-debian-13-amd64-0123456789ab", kind: "knc", arch: "amd64", os: "debian-13", target: "qemu", digest: QCOW2_DIGEST },
      manifest,
      packages: parseDpkgPackages(text, "status"),
      vmconfigDigest: VMCONFIG_DIGEST,
      base: { source: manifest.baseImage.url, digest: manifest.baseImage.digest },
      created: new Date("2026-11-30T12:00:00.123Z"),
      tool: { name: "podplane-images", version: "0.1.0" },
      dpkgSource: "/var/lib/dpkg/status of test.qcow2, read offline",
    };
  });

  it("reads every installed package of a real dpkg status file (the same set inspect reads)", () => {
    const installed = parseDpkgStatus(text);
    const packages = parseDpkgPackages(text, "status");
    expect(installed.size).toBeGreaterThan(50);
    expect(new Map(packages.map((p) => [p.name, p.version]))).toEqual(installed);
    expect(packages.every((p) => p.architecture.length > 0 && p.source.length > 0)).toBe(true);
  });

  it("SPDX 2.3: valid against the official schema; lists every artifact, image, vmconfig and package", () => {
    const doc = renderSpdx(buildInventory(input)) as { packages: Array<Record<string, unknown>>; relationships: unknown[] };
    const validate = spdxValidator();
    expect(validate(doc), errorsOf(validate)).toBe(true);
    const packages = doc.packages as Array<{ SPDXID: string; name: string; versionInfo?: string; checksums?: Array<{ checksumValue: string }>; externalRefs?: Array<{ referenceLocator: string }> }>;
    const hexes = (p: (typeof packages)[number]) => (p.checksums ?? []).map((c) => c.checksumValue);
    for (const d of manifest.dependencies.filter((x) => !x.local)) {
      const found = packages.find((p) => p.name === d.name && p.versionInfo === d.version);
      expect(found, d.name).toBeDefined();
      expect(hexes(found!)).toContain(d.digest.split(":")[1]);
    }
    for (const [name, version] of parseDpkgStatus(text)) expect(packages.some((p) => p.name === name && p.versionInfo === version), name).toBe(true);
    const pause = packages.find((p) => p.name === "registry.k8s.io/pause");
    expect(pause?.externalRefs?.[0]?.referenceLocator).toBe(`pkg:oci/pause@${manifest.images[0]?.digest.replace(":", "%3A") ?? ""}?arch=amd64&repository_url=registry.k8s.io/pause&tag=3.10.2`.replace("%3A", ":"));
    expect(hexes(packages.find((p) => p.name === "vmconfig")!)).toEqual([VMCONFIG_DIGEST.slice(7)]);
    expect(hexes(packages.find((p) => p.SPDXID === "SPDXRef-image")!)).toEqual([QCOW2_DIGEST.slice(7)]);
    // Every package but the image is related to it; SPDX IDs are unique.
    expect(new Set(packages.map((p) => p.SPDXID)).size).toBe(packages.length);
    expect(doc.relationships).toHaveLength(packages.length);
  });

  it("CycloneDX 1.6: valid against the official schema; lists every artifact, image, vmconfig and package", () => {
    const doc = renderCycloneDx(buildInventory(input)) as { components: Array<{ "bom-ref": string; name: string; version: string; purl: string; hashes?: Array<{ alg: string; content: string }> }> };
    const validate = cycloneDxValidator();
    expect(validate(doc), errorsOf(validate)).toBe(true);
    const hexes = (name: string, version?: string) => doc.components.find((c) => c.name === name && (version === undefined || c.version === version))?.hashes?.map((h) => h.content) ?? [];
    for (const d of manifest.dependencies.filter((x) => !x.local)) {
      expect(doc.components.some((c) => c.name === d.name && c.version === d.version), d.name).toBe(true);
      expect(hexes(d.name, d.version)).toContain(d.digest.split(":")[1]);
    }
    for (const [name, version] of parseDpkgStatus(text)) expect(doc.components.some((c) => c.name === name && c.version === version), name).toBe(true);
    expect(hexes("vmconfig")).toEqual([VMCONFIG_DIGEST.slice(7)]);
    expect(new Set(doc.components.map((c) => c["bom-ref"])).size).toBe(doc.components.length);
  });

  it("package URLs by origin: Debian's archive, a third-party apt repository, GitHub releases, dl.k8s.io, OCI", () => {
    const byName = new Map(buildInventory(input).components.map((c) => [c.name, c.purl]));
    const libpq5 = manifest.dependencies.find((d) => d.name === "libpq5")!;
    // The pinned .deb installed at its version is one entry: the package, with the file's purl.
    expect(byName.get("libpq5")).toBe(`pkg:deb/debian/libpq5@${libpq5.version.replace("+", "%2B")}?arch=amd64&distro=debian-13`);
    expect(byName.get("fluent-bit")).toBe("pkg:deb/fluentbit/fluent-bit@5.0.5?arch=amd64&distro=debian-13&repository_url=https://packages.fluentbit.io/debian/trixie");
    expect(byName.get("containerd")).toBe("pkg:github/containerd/containerd@v2.3.1?download_url=https://github.com/containerd/containerd/releases/download/v2.3.1/containerd-2.3.1-linux-amd64.tar.gz");
    expect(byName.get("kube2iam")).toMatch(/^pkg:github\/podplane\/kube2iam-binaries@0\.11\.2\?download_url=/);
    const kubelet = manifest.dependencies.find((d) => d.name === "kubelet")!;
    expect(byName.get("kubelet")).toBe(`pkg:generic/kubelet@1.36.1?checksum=${kubelet.digest}&download_url=https://dl.k8s.io/release/v1.36.1/bin/linux/amd64/kubelet`);
    expect(byName.get("vmconfig")).toBe(`pkg:generic/podplane/vmconfig@dev?checksum=${VMCONFIG_DIGEST}`);
  });

  it("an unpinned artifact (never in a real bake: fetch refuses it) is listed without a digest and said to be unpinned", async () => {
    const unpinned = await loadManifest(path.join(DEFAULT_MANIFESTS_DIR, "knc.debian-13.amd64.json"));
    const inventory = buildInventory({ ...input, manifest: unpinned });
    expect(inventory.components.find((c) => c.name === "kube2iam")).toMatchObject({ pinned: false, checksums: [] });
    const spdx = renderSpdx(inventory) as { packages: Array<{ name: string; comment?: string; checksums?: unknown }> };
    expect(spdx.packages.find((p) => p.name === "kube2iam")).toMatchObject({ comment: "not pinned: the lock manifest holds no digest" });
    expect(spdx.packages.find((p) => p.name === "kube2iam")?.checksums).toBeUndefined();
    const validate = spdxValidator();
    expect(validate(spdx), errorsOf(validate)).toBe(true);
  });

  it("a file with no installed package is not a dpkg status file: an error naming it", () => {
    expect(() => parseDpkgPackages("hello\n", "x/status")).toThrow(/x\/status: no installed package found/);
    expect(() => parseDpkgPackages("Package: a\nStatus: install ok installed\nVersion: 1\n", "y")).toThrow(/y: package a is installed but has no Architecture field/);
  });

  it("deterministic: the same inputs write byte-identical files (aws: from a downloaded dpkg status)", async () => {
    const dir = await tempDir("sbom-det-");
    const status = path.join(dir, "dpkg-status");
    const { writeFile } = await import("node:fs/promises");
    await writeFile(status, text);
    const options = {
      name: "podplane-knc-debian-13-amd64-0123456789ab",
      target: "aws" as const,
      manifest,
      vmconfigDigest: VMCONFIG_DIGEST,
      base: { source: "ami:136693071363/debian-13-amd64-*", digest: "ami-filter:136693071363/debian-13-amd64-*" },
      dpkgStatusFile: status,
      amis: { "us-east-1": "ami-0123456789abcdef0", "eu-west-1": "ami-0fedcba9876543210" },
      workParent: dir,
      created: new Date("2026-11-30T12:00:00Z"),
    };
    const first = await writeImageSbom({ ...options, dir: path.join(dir, "a") });
    const second = await writeImageSbom({ ...options, dir: path.join(dir, "b") });
    expect(path.basename(first.spdx)).toBe("podplane-knc-debian-13-amd64-0123456789ab.spdx.json");
    expect(path.basename(first.cyclonedx)).toBe("podplane-knc-debian-13-amd64-0123456789ab.cdx.json");
    expect(await readFile(second.spdx, "utf8")).toBe(await readFile(first.spdx, "utf8"));
    expect(await readFile(second.cyclonedx, "utf8")).toBe(await readFile(first.cyclonedx, "utf8"));
    const spdx = await readFile(first.spdx, "utf8");
    // No host path leaks into the document: only the image's own name.
    expect(spdx).not.toContain(dir);
    expect(spdx).toContain("AMIs: us-east-1 ami-0123456789abcdef0");
    const validate = spdxValidator();
    expect(validate(JSON.parse(spdx)), errorsOf(validate)).toBe(true);
    // Another image (or time) is another document: the namespace and serial change.
    const other = await writeImageSbom({ ...options, created: new Date("2026-12-01T00:00:00Z"), dir: path.join(dir, "c") });
    const serial = async (file: string) => (JSON.parse(await readFile(file, "utf8")) as { serialNumber: string }).serialNumber;
    expect(await serial(other.cyclonedx)).not.toBe(await serial(first.cyclonedx));
  });
});
