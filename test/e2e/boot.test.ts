// The slow suite, after bake.test.ts: boot the knd and knc images it baked (listed in
// images.json under PODPLANE_E2E_DIR, default <repo>/.e2e) and require every named check.
// knd boots with provider aws (kube2iam must run), knc with provider qemu (kube2iam must not).
import { access, readdir } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CHECK_NAMES, testImage } from "../../pipeline/boot/index.js";
import type { Provider } from "../../pipeline/boot/index.js";
import { readImagesFile, type ImageRecord } from "../../pipeline/publish/index.js";

const E2E_DIR = path.resolve(process.env.PODPLANE_E2E_DIR ?? path.join(import.meta.dirname, "..", "..", ".e2e"));

/** images.json files under the e2e dir (the bake may publish into a subdirectory such as out/). */
async function imagesFiles(dir: string, depth = 2): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const here = entries.filter((e) => e.isFile() && e.name === "images.json").map((e) => path.join(dir, e.name));
  if (depth === 0) return here;
  const below = await Promise.all(entries.filter((e) => e.isDirectory() && !e.name.startsWith(".")).map((e) => imagesFiles(path.join(dir, e.name), depth - 1)));
  return [...here, ...below.flat()];
}

async function bakedImage(kind: string): Promise<ImageRecord> {
  const records: ImageRecord[] = [];
  for (const file of await imagesFiles(E2E_DIR)) records.push(...(await readImagesFile(file)).images);
  const image = records
    .filter((r) => r.kind === kind && r.target === "qemu" && r.arch === "amd64" && r.qemu?.path)
    .sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1))[0];
  if (!image?.qemu) throw new Error(`no baked ${kind} qemu image in an images.json under ${E2E_DIR}: run test/e2e/bake.test.ts first`);
  await access(image.qemu.path);
  return image;
}

const CASES: ReadonlyArray<{ kind: "knd" | "knc"; provider: Provider }> = [
  { kind: "knd", provider: "aws" },
  { kind: "knc", provider: "qemu" },
];

describe("boot test of the baked images", () => {
  for (const { kind, provider } of CASES) {
    it(`${kind} (provider ${provider}) boots with the slim user-data and passes every named check`, async () => {
      const image = await bakedImage(kind);
      const report = await testImage({
        image: image.qemu?.path ?? "",
        kind,
        provider,
        workDir: path.join(E2E_DIR, "boot", `${kind}-${provider}`),
        onProgress: (line) => process.stderr.write(`boot ${kind}: ${line}\n`),
      });
      for (const check of report.checks) process.stderr.write(`boot ${kind}: ${check.ok ? "ok" : "FAIL"} ${check.name}: ${check.evidence}\n`);
      expect(report.checks.filter((c) => !c.ok)).toEqual([]);
      expect(report.checks.map((c) => c.name).sort()).toEqual(Object.values(CHECK_NAMES).sort());
      expect(report.ok).toBe(true);
      const services = report.checks.find((c) => c.name === CHECK_NAMES.services)?.evidence ?? "";
      expect(services).toMatch(provider === "aws" ? /kube2iam active\/running/ : /kube2iam inactive/);
    });
  }
});
