// The slow suite, after bake.test.ts: the knc image that bake wrote (named in
// <PODPLANE_E2E_DIR>/baked-images.json) boots the way Podplane's local runner boots it: by
// direct kernel boot from the os.boot of its images.json record, the kernel and initrd
// extracted from the image and checked by digest first, and it passes every named check. The
// Podplane manifest beside the qcow2 loads with the manifest loader and holds the same os.boot.
// bake.test.ts already boots knd this way (in parallel with knc's GRUB boot); this second boot
// of knc is the suite's third boot phase, so both kinds are proven both ways Podplane starts
// them: through firmware and GRUB (cloud instances) and by direct kernel boot (the local runner).
// It runs alone on the host (one single-thread TCG guest), after bake.test.ts.
import { access, readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { findBootRecord, prepareDirectBoot } from "../../pipeline/boot/direct-boot.js";
import { CHECK_NAMES, testImage } from "../../pipeline/boot/index.js";
import { loadManifest } from "../../pipeline/manifest/load.js";
import { podplaneManifestPath } from "../../pipeline/publish/podplane-manifest.js";

const E2E_DIR = path.resolve(process.env.PODPLANE_E2E_DIR ?? path.join(import.meta.dirname, "..", "..", ".e2e"));
const BAKED_IMAGES_FILE = path.join(E2E_DIR, "baked-images.json");

async function bakedImage(kind: "knd" | "knc"): Promise<string> {
  const text = await readFile(BAKED_IMAGES_FILE, "utf8").catch(() => {
    throw new Error(`${BAKED_IMAGES_FILE} is missing: run test/e2e/bake.test.ts first (it names the images it baked there)`);
  });
  const image = (JSON.parse(text) as Record<string, unknown>)[kind];
  if (typeof image !== "string") throw new Error(`${BAKED_IMAGES_FILE} names no ${kind} image`);
  await access(image);
  return image;
}

describe("direct kernel boot of the baked knc image", () => {
  it("boots with -kernel/-initrd/-append from its images.json record and passes every named check", async () => {
    const image = await bakedImage("knc");
    const record = await findBootRecord(image, path.join(E2E_DIR, "images.json"));
    expect(record.boot.cmdline).toMatch(/^root=PARTUUID=\S+ .*console=ttyS0/);
    const manifest = await loadManifest(podplaneManifestPath(image, { kind: "knc", os: "debian-13", arch: "amd64" }));
    expect(manifest.lock.vmconfig.os.boot).toEqual(record.boot);
    const workDir = path.join(E2E_DIR, "boot", "knc-direct");
    const directBoot = await prepareDirectBoot(image, record.boot, path.join(workDir, "boot"), { workParent: path.join(E2E_DIR, "cache", "tmp") });
    const report = await testImage({
      image,
      kind: "knc",
      provider: "local",
      workDir,
      directBoot,
      onProgress: (line) => process.stderr.write(`direct boot knc: ${line}\n`),
    });
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.checks.map((c) => c.name).sort()).toEqual(Object.values(CHECK_NAMES).sort());
    // QEMU loaded the kernel itself: GRUB never ran.
    const serial = await readFile(report.logPath, "utf8");
    expect(serial).not.toMatch(/GNU GRUB|Booting `Debian/);
    expect(serial).toContain("Linux version");
  });
});
