// After the bake (the fake packer leaves a real tiny MBR disk): the qemu result carries the
// image's os.boot, the Podplane lock manifest beside the qcow2 loads with the manifest loader
// and boots the same files, and the images.json record carries both (issue 12 items 3-4).
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it, vi } from "vitest";
import { PROJECT_ROOT } from "../../pipeline/cli/options.js";
import { bakePaths, imageRecord, resolveBase, resolveIdentity, runPackerBake, type BakeSettings } from "../../pipeline/image/bake.js";
import { fileSha256 } from "../../pipeline/image/file-digest.js";
import { loadManifest, loadManifests } from "../../pipeline/manifest/index.js";
import { IS_ROOT, NEEDS_ROOT } from "../fs/mount-fixtures.js";
import { writeCachedBase } from "../helpers/fake-build.js";
import { FAKE_PACKER_DIR, tempDir } from "../packer/fake-packer.js";

describe.skipIf(!IS_ROOT)(`a qemu bake records the image's direct kernel boot (${NEEDS_ROOT})`, () => {
  it("boot in the result and the record; a Podplane manifest beside the qcow2 with the same boot and the qcow2 as os.image", async () => {
    const dir = await tempDir("baked-record-");
    const [manifest] = await loadManifests(path.join(PROJECT_ROOT, "manifests"), { kinds: ["knd"], arches: ["amd64"] });
    if (!manifest) throw new Error("no knd amd64 manifest");
    vi.stubEnv("FAKE_PACKER_MODE", "ok");
    vi.stubEnv("PODPLANE_ACCEL", "tcg");
    const s: BakeSettings = { manifest, target: "qemu", base: "debootstrap", outDir: path.join(dir, "out"), cacheDir: path.join(dir, "cache"), packerBin: path.join(FAKE_PACKER_DIR, "packer") };
    await writeCachedBase(s.cacheDir);
    const identity = await resolveIdentity(s, await resolveBase(s));
    const stage = bakePaths(s.outDir, identity.name).stageDir;
    await mkdir(stage, { recursive: true });
    await writeFile(path.join(stage, "artifacts.tsv"), "");

    const result = await runPackerBake(s, identity, { dir: stage, artifacts: [], bytes: 0, images: [] }, identity.base.path, () => undefined);
    const qcow2 = result.qemu?.path ?? "";
    const raw = path.join(dir, "disk.raw");
    await execa("qemu-img", ["convert", "-O", "raw", qcow2, raw]);
    const diskId = (JSON.parse((await execa("sfdisk", ["--json", raw])).stdout) as { partitiontable: { id: string } }).partitiontable.id.replace(/^0x/, "");
    const boot = result.qemu?.boot;
    expect(boot?.cmdline).toBe(`root=PARTUUID=${diskId}-01 ro console=ttyS0,115200`);
    expect(boot?.kernel).toMatchObject({ partition: 1, path: "/boot/vmlinuz-0.0-fake" });
    expect(boot?.initrd.digest).toMatch(/^sha256:[0-9a-f]{64}$/);

    const podplane = await loadManifest(result.qemu?.podplaneManifest ?? "");
    expect(result.qemu?.podplaneManifest).toBe(path.join(path.dirname(qcow2), `${identity.name}.manifest`, "knd.debian-13.amd64.json"));
    expect(podplane.lock.vmconfig.os.boot).toEqual(boot);
    expect(podplane.baseImage).toMatchObject({ url: `file://${qcow2}`, type: "qcow2" });
    expect(podplane.baseImage.digest).toMatch(/^sha512:/);
    expect(await fileSha256(qcow2)).toBe(result.qemu?.digest);

    const record = imageRecord(s, identity, result, 1);
    expect(record.boot).toEqual(boot);
    expect(record.podplaneManifest).toBe(result.qemu?.podplaneManifest);
  }, 120_000);
});
