// The qemu path end to end on a real (tiny) disk: a qcow2 whose ext4 root holds a real dpkg
// status file (this host's) is opened read-only as `inspect` opens it, its packages are read and
// both SBOMs are written beside it; nothing stays mounted or attached.
import { copyFile, mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { DEFAULT_MANIFESTS_DIR } from "../../pipeline/cli/options.js";
import { parseDpkgStatus } from "../../pipeline/inspect/index.js";
import { loadManifest } from "../../pipeline/manifest/load.js";
import { readImagePackages, writeImageSbom } from "../../pipeline/sbom/index.js";
import { IS_ROOT, expectClean, hostState, mountTempDir } from "../fs/mount-fixtures.js";
import { cycloneDxValidator, errorsOf, spdxValidator } from "./schemas.js";

/** An MBR disk with one ext4 partition holding `root`, as qcow2. */
async function diskWith(dir: string, root: string): Promise<string> {
  const raw = path.join(dir, "disk.raw");
  await execa("truncate", ["-s", "24M", raw]);
  await execa("sfdisk", ["--quiet", raw], { input: "label: dos\nstart=2048, type=83\n" });
  await execa("mkfs.ext4", ["-q", "-F", "-E", `offset=${2048 * 512}`, "-d", root, raw, "20M"]);
  const image = path.join(dir, "podplane-knc-debian-13-amd64-0123456789ab.qcow2");
  await execa("qemu-img", ["convert", "-O", "qcow2", raw, image]);
  return image;
}

describe.skipIf(!IS_ROOT)("the dpkg database of a qcow2, read offline (needs root: loop devices, mount)", () => {
  it("lists every installed package of the image and writes both SBOMs beside it, leaving nothing mounted", async () => {
    const dir = await mountTempDir("sbom-offline-");
    const root = path.join(dir, "root");
    await mkdir(path.join(root, "var/lib/dpkg"), { recursive: true });
    await copyFile("/var/lib/dpkg/status", path.join(root, "var/lib/dpkg/status"));
    const image = await diskWith(dir, root);
    const before = await hostState();
    const workParent = path.join(dir, "work");

    const packages = await readImagePackages(image, { workParent });
    expect(new Map(packages.map((p) => [p.name, p.version]))).toEqual(parseDpkgStatus(await readFile("/var/lib/dpkg/status", "utf8")));

    const m = await loadManifest(path.join(DEFAULT_MANIFESTS_DIR, "knc.debian-13.amd64.json"));
    const manifest = { ...m, dependencies: m.dependencies.map((d) => (d.name === "kube2iam" ? { ...d, digest: `sha512:${"ab".repeat(64)}`, size: 1 } : d)) };
    const files = await writeImageSbom({
      name: path.basename(image, ".qcow2"),
      target: "qemu",
      manifest,
      vmconfigDigest: `sha256:${"cd".repeat(32)}`,
      base: { source: "debootstrap:debian-13-debootstrap-amd64-0000.qcow2", digest: `sha256:${"12".repeat(32)}` },
      dir,
      qcow2: { path: image, digest: `sha256:${"ef".repeat(32)}` },
      workParent,
    });
    expect(files).toEqual({ spdx: image.replace(/\.qcow2$/, ".spdx.json"), cyclonedx: image.replace(/\.qcow2$/, ".cdx.json") });
    const spdx = spdxValidator();
    expect(spdx(JSON.parse(await readFile(files.spdx, "utf8"))), errorsOf(spdx)).toBe(true);
    const cdx = cycloneDxValidator();
    expect(cdx(JSON.parse(await readFile(files.cyclonedx, "utf8"))), errorsOf(cdx)).toBe(true);
    expect(await readFile(files.spdx, "utf8")).toContain("/var/lib/dpkg/status of podplane-knc-debian-13-amd64-0123456789ab.qcow2, read offline");
    await expectClean(workParent, before, { removed: false });
    expect((await execa("ls", ["-A", workParent])).stdout).toBe("");
  }, 120_000);

  it("an image without a dpkg database: an error naming the image and the file", async () => {
    const dir = await mountTempDir("sbom-offline-nodpkg-");
    const root = path.join(dir, "root");
    await mkdir(path.join(root, "etc"), { recursive: true });
    const image = await diskWith(dir, root);
    await expect(readImagePackages(image, { workParent: path.join(dir, "work") })).rejects.toThrow(/podplane-knc-debian-13-amd64-0123456789ab\.qcow2: cannot read \/var\/lib\/dpkg\/status \(ENOENT\); is this a Debian image\?/);
    expect((await execa("ls", ["-A", path.join(dir, "work")])).stdout).toBe("");
  }, 120_000);
});
