// The slow suite, after bake.test.ts: boot exactly the knd and knc images that bake wrote, named
// in <PODPLANE_E2E_DIR>/baked-images.json ({"knd": "<qcow2 path>", "knc": "<qcow2 path>"}; the
// bake test writes it), never "the newest image" found anywhere. knd boots from a Podplane-format
// user-data.env with provider aws (kube2iam must run) and a generated Nstance delivery and must
// pass every named check; knc (provider local, kube2iam must not run) passed the same checks in
// build's own boot step (bake.test.ts runs `build --kind knc` on the image the matrix call baked
// with --skip-test).
import { access, readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CHECK_NAMES, testImage } from "../../pipeline/boot/index.js";
import type { Provider } from "../../pipeline/boot/index.js";

const E2E_DIR = path.resolve(process.env.PODPLANE_E2E_DIR ?? path.join(import.meta.dirname, "..", "..", ".e2e"));
export const BAKED_IMAGES_FILE = path.join(E2E_DIR, "baked-images.json");

async function bakedImage(kind: "knd" | "knc"): Promise<string> {
  const text = await readFile(BAKED_IMAGES_FILE, "utf8").catch(() => {
    throw new Error(`${BAKED_IMAGES_FILE} is missing: run test/e2e/bake.test.ts first (it names the images it baked there)`);
  });
  const image = (JSON.parse(text) as Record<string, unknown>)[kind];
  if (typeof image !== "string") throw new Error(`${BAKED_IMAGES_FILE} names no ${kind} image`);
  await access(image);
  return image;
}

// knc (provider local) is boot-tested by `build --kind knc` in bake.test.ts, through this same
// testImage; booting it again here would repeat the same checks for six minutes.
const CASES: ReadonlyArray<{ kind: "knd" | "knc"; provider: Provider }> = [{ kind: "knd", provider: "aws" }];

describe("boot test of the baked images", () => {
  for (const { kind, provider } of CASES) {
    it(`${kind} (provider ${provider}) boots with the slim user-data, applies a generated delivery and passes every named check`, async () => {
      const image = await bakedImage(kind);
      const report = await testImage({
        image,
        kind,
        provider,
        workDir: path.join(E2E_DIR, "boot", `${kind}-${provider}`),
        onProgress: (line) => process.stderr.write(`boot ${kind}: ${line}\n`),
      });
      expect(report.checks.filter((c) => !c.ok)).toEqual([]);
      expect(report.checks.map((c) => c.name).sort()).toEqual(Object.values(CHECK_NAMES).sort());
      expect(report.ok).toBe(true);
      const services = report.checks.find((c) => c.name === CHECK_NAMES.services)?.evidence ?? "";
      expect(services).toMatch(provider === "aws" ? /kube2iam active\/running/ : /kube2iam inactive/);
    });
  }
});
