// Debian's SPDX validator (python3-spdx-tools' pyspdxtools, unpacked by test/sbom/fetch-spdx-tools.sh,
// run with the host's python3) on an SBOM this tool writes: it must find nothing to report; and on
// a document with a dangling relationship it must (so the check can fail).
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { DEFAULT_MANIFESTS_DIR } from "../../pipeline/cli/options.js";
import { loadManifest } from "../../pipeline/manifest/load.js";
import { writeImageSbom } from "../../pipeline/sbom/index.js";
import { tempDir } from "../helpers/temp-dir.js";

const CACHE = process.env.PODPLANE_FIXTURE_CACHE ?? path.join(os.homedir(), ".cache", "podplane-images-fixtures");
const TOOLS = path.join(CACHE, "spdx-tools");
const PYSPDXTOOLS = path.join(TOOLS, "usr/bin/pyspdxtools");
const PRESENT = existsSync(path.join(TOOLS, "ok")) && existsSync(PYSPDXTOOLS);

async function pyspdxtools(file: string) {
  return execa("python3", [PYSPDXTOOLS, "-i", file], { reject: false, all: true, env: { PYTHONPATH: path.join(TOOLS, "usr/lib/python3/dist-packages"), PYTHONDONTWRITEBYTECODE: "1" } });
}

describe.skipIf(!PRESENT)(`pyspdxtools (Debian's python3-spdx-tools; ${PRESENT ? "present" : `absent: run bash test/sbom/fetch-spdx-tools.sh to unpack it into ${TOOLS}`})`, () => {
  it("validates the SPDX document of an image without a finding, and reports a dangling relationship", async () => {
    const dir = await tempDir("sbom-pyspdx-");
    const m = await loadManifest(path.join(DEFAULT_MANIFESTS_DIR, "knd.debian-13.amd64.json"));
    const manifest = { ...m, dependencies: m.dependencies.map((d) => (d.name === "kube2iam" ? { ...d, digest: `sha512:${"ab".repeat(64)}`, size: 1 } : d)) };
    const files = await writeImageSbom({
      name: "podplane-knd-debian-13-amd64-0123456789ab",
      target: "qemu",
      manifest,
      vmconfigDigest: `sha256:${"cd".repeat(32)}`,
      base: { source: manifest.baseImage.url, digest: manifest.baseImage.digest },
      dir,
      dpkgStatusFile: "/var/lib/dpkg/status",
      workParent: dir,
      created: new Date("2026-11-30T12:00:00Z"),
    });
    const good = await pyspdxtools(files.spdx);
    expect(good.exitCode, good.all).toBe(0);
    expect(good.all).not.toMatch(/invalid|error/i);

    const doc = JSON.parse(await readFile(files.spdx, "utf8")) as { relationships: Array<Record<string, string>> };
    doc.relationships.push({ spdxElementId: "SPDXRef-image", relationshipType: "CONTAINS", relatedSpdxElement: "SPDXRef-nothing-here" });
    const broken = path.join(dir, "broken.spdx.json");
    await writeFile(broken, JSON.stringify(doc));
    const bad = await pyspdxtools(broken);
    expect(bad.exitCode, bad.all).not.toBe(0);
    expect(bad.all).toContain("SPDXRef-nothing-here");
  }, 60_000);
});
