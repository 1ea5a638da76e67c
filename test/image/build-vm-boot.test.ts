// The build VM's kernel, initrd and command line, taken from the base itself (a real tiny disk,
// test/fixtures/tiny-disk.sh): extracted once per base digest, re-checked on every reuse.
import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { buildVmBoot } from "../../pipeline/image/build-vm-boot.js";
import { fileSha256 } from "../../pipeline/image/file-digest.js";
import { IS_ROOT } from "../fs/mount-fixtures.js";
import { TINY_DISK } from "../helpers/fake-build.js";
import { tempDir } from "../helpers/temp-dir.js";

describe.skipIf(!IS_ROOT)("buildVmBoot (needs root: loop devices, mount)", () => {
  async function base(dir: string): Promise<{ file: string; digest: string }> {
    const file = path.join(dir, "base.qcow2");
    await execa("bash", [TINY_DISK, file]);
    return { file, digest: await fileSha256(file) };
  }

  it("extracts the base's own kernel and initrd once, names the cache entry by the digest, and adds the bake to its command line", async () => {
    const dir = await tempDir();
    const { file, digest } = await base(dir);
    const cacheDir = path.join(dir, "cache");
    const boot = await buildVmBoot({ base: file, baseDigest: digest, cacheDir, arch: "amd64" });
    expect(path.dirname(boot.kernel)).toBe(path.join(cacheDir, "build-vm-boot", `amd64-${digest.slice(7, 23)}`));
    expect(boot.cmdline).toMatch(/^root=PARTUUID=[0-9a-f]{8}-01 ro console=ttyS0,115200 fsck\.mode=skip panic=1 init=\/bin\/sh -- -c "/);
    const kernel = await readFile(boot.kernel);
    // Reused as it is: the same files, no scratch directory left.
    expect(await buildVmBoot({ base: file, baseDigest: digest, cacheDir, arch: "amd64" })).toEqual(boot);
    expect((await readdir(path.join(cacheDir, "build-vm-boot"))).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    // A cached kernel that no longer matches the record is extracted again from the base.
    await writeFile(boot.kernel, "tampered");
    const again = await buildVmBoot({ base: file, baseDigest: digest, cacheDir, arch: "amd64" });
    expect(await readFile(again.kernel)).toEqual(kernel);
  });

  it("serves concurrent bakes of one base (build --jobs): every call gets the same checked files, none is pulled away", async () => {
    const dir = await tempDir();
    const { file, digest } = await base(dir);
    const cacheDir = path.join(dir, "cache");
    const boots = await Promise.all(Array.from({ length: 4 }, () => buildVmBoot({ base: file, baseDigest: digest, cacheDir, arch: "amd64" })));
    for (const boot of boots) expect(boot).toEqual(boots[0]);
    expect(await fileSha256(boots[0]!.kernel)).toMatch(/^sha256:/);
    expect((await readdir(path.join(cacheDir, "build-vm-boot"))).sort()).toEqual([`amd64-${digest.slice(7, 23)}`]);
  });

  it("refuses a base that is not the one its digest names (EBASE), and a malformed digest", async () => {
    const dir = await tempDir();
    const { file } = await base(dir);
    const cacheDir = path.join(dir, "cache");
    await expect(buildVmBoot({ base: file, baseDigest: `sha256:${"0".repeat(64)}`, cacheDir, arch: "amd64" })).rejects.toMatchObject({ code: "EBASE" });
    await expect(buildVmBoot({ base: file, baseDigest: "md5:abc", cacheDir, arch: "amd64" })).rejects.toThrow(/not a base image digest/);
  });
});
