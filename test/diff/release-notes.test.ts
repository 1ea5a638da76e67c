// Release notes: the diff a build writes beside each image it publishes, against the image it
// follows in images.json. Through the function the plan runner calls, then through the runner's
// publish path itself (in-process build with the fake packer), then what prune and merge do
// with the file and the record's field.
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it, vi } from "vitest";
import type { ImageTestReport, TestImageOptions } from "../../pipeline/boot/index.js";
import { runBuild, type BuildFlags } from "../../pipeline/commands/build.js";
import { previousImage, releaseNotesPath, withReleaseNotes } from "../../pipeline/diff/release-notes.js";
import { loadManifest } from "../../pipeline/manifest/load.js";
import { DEFAULT_MANIFESTS_DIR } from "../../pipeline/cli/options.js";
import type { ImageRecord, ImagesFile } from "../../pipeline/publish/index.js";
import { mergeImagesFiles } from "../../pipeline/publish/merge.js";
import { parseImagesStrict } from "../../pipeline/publish/read-strict.js";
import { awsImageFiles } from "../../pipeline/retention/side-files.js";
import { qemuImageFiles } from "../../pipeline/retention/qemu.js";
import { FAKE_PACKER_DIR } from "../packer/fake-packer.js";
import { tempDir } from "../helpers/temp-dir.js";
import { record } from "../publish/records.js";
import { resetCliStateAfterEach } from "../helpers/cli.js";
import { runCli, section } from "./fixtures.js";
import { fakeBuildDirs } from "../helpers/fake-build.js";

resetCliStateAfterEach();

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

const digest = (c: string) => `sha256:${c.repeat(64)}`;

async function writeImages(out: string, images: ImageRecord[]): Promise<void> {
  await mkdir(out, { recursive: true });
  await writeFile(path.join(out, "images.json"), `${JSON.stringify({ version: 1, images }, null, 2)}\n`);
}

describe("release notes of a published image", () => {
  it("the first image of its kind/os/arch/target: says so and lists its components and container images", async () => {
    const out = await tempDir("notes-first-");
    const manifest = await loadManifest(path.join(DEFAULT_MANIFESTS_DIR, "knd.debian-13.amd64.json"));
    // Another kind and another target do not count as previous images.
    await writeImages(out, [record({ name: "podplane-knc-x", kind: "knc" }), record({ name: "podplane-knd-aws", target: "aws", qemu: undefined, amis: { "eu-west-1": "ami-01" } })]);
    const name = "podplane-knd-debian-13-amd64-111111111111";
    const fresh = record({ name, qemu: { path: path.join(out, "images", `${name}.qcow2`), digest: digest("b") }, dependencies: manifest.dependencies.filter((d) => !d.local).map((d) => ({ name: d.name, version: d.version, digest: d.digest })) });
    const published = await withReleaseNotes(out, fresh, manifest);
    expect(published.releaseNotes).toBe(path.join(out, "images", `${name}.release-notes.md`));
    expect({ ...published, releaseNotes: undefined }).toEqual({ ...fresh, releaseNotes: undefined });
    const md = await readFile(published.releaseNotes ?? "", "utf8");
    const lines = md.split("\n");
    expect(lines[0]).toBe(`# Release notes: ${name}`);
    expect(lines[2]).toBe(`First image of knd debian-13 amd64 (qemu): images.json has no earlier one to compare with; it holds ${fresh.dependencies.length} components, listed below.`);
    const s = section(md, "knd debian-13 amd64 (qemu)");
    expect(s).toContain("First image of its kind: nothing to compare with. It holds:");
    for (const d of fresh.dependencies) expect(s).toContain(`| ${d.name} | ${d.version} | \``);
    expect(s).toContain("| registry.k8s.io/pause | 3.10.2 | `sha256:412c4a7219cb` |");
  });

  it("a later image: the diff against the newest earlier one of the same kind/os/arch/target; aws notes in <out>/images/", async () => {
    const out = await tempDir("notes-next-");
    const manifest = await loadManifest(path.join(DEFAULT_MANIFESTS_DIR, "knd.debian-13.amd64.json"));
    const older = record({ name: "podplane-knd-old", target: "aws", qemu: undefined, amis: { "eu-west-1": "ami-01" }, createdAt: "2026-11-01T00:00:00.000Z", dependencies: [{ name: "kubelet", version: "1.35.0", digest: digest("0") }] });
    const previous = record({
      name: "podplane-knd-prev",
      target: "aws",
      qemu: undefined,
      amis: { "eu-west-1": "ami-02" },
      createdAt: "2026-11-20T00:00:00.000Z",
      dependencies: [
        { name: "kubelet", version: "1.36.1", digest: digest("c") },
        { name: "runc", version: "1.4.2", digest: digest("8") },
      ],
    });
    await writeImages(out, [older, previous, record({ name: "podplane-knd-qemu", createdAt: "2026-11-29T00:00:00.000Z" })]);
    expect(previousImage({ version: 1, images: [older, previous] }, { ...previous, name: "podplane-knd-next" })?.name).toBe("podplane-knd-prev");
    const next = record({
      name: "podplane-knd-next",
      target: "aws",
      qemu: undefined,
      amis: { "eu-west-1": "ami-03" },
      dependencies: [
        { name: "kubelet", version: "1.36.2", digest: digest("1") },
        { name: "runc", version: "1.4.2", digest: digest("2") },
      ],
    });
    const published = await withReleaseNotes(out, next, manifest);
    expect(published.releaseNotes).toBe(path.join(out, "images", "podplane-knd-next.release-notes.md"));
    expect(releaseNotesPath(out, next)).toBe(published.releaseNotes);
    const md = await readFile(published.releaseNotes ?? "", "utf8");
    expect(md.split("\n")[2]).toBe("`podplane-knd-prev` → `podplane-knd-next`: 1 of 1 kind × arch changed: 1 version change, 1 digest change with the same version.");
    expect(md).toContain("| kubelet | version | 1.36.1 (`sha256:cccccccccccc`) | 1.36.2 (`sha256:111111111111`) |");
    expect(md).toContain("> **Same version, new digest** (component): **runc** 1.4.2.");
    // The previous aws record keeps no container images; the new one has its manifest's.
    expect(md).toContain("Container images: not compared (the old side does not record them).");
  });

  it("build writes them through the plan runner's publish path (fake packer): the diff against the earlier knd image", async () => {
    // The fixture mirror, and a debootstrap base already in the cache as buildDebootstrapBase leaves it.
    const { fixture, cache, out } = await fakeBuildDirs("notes-build-", ["knd"]);
    // An earlier knd image, baked from older pins.
    const knd = await loadManifest(path.join(fixture.manifestsDir, "knd.debian-13.amd64.json"));
    const earlierDeps = knd.dependencies.filter((d) => !d.local && d.name !== "zot").map((d) => ({ name: d.name, version: d.name === "kubelet" ? "1.35.9" : d.version, digest: d.name === "runc" ? digest("8") : d.digest }));
    const earlier = record({ name: "podplane-knd-debian-13-amd64-000000000000", qemu: { path: path.join(out, "images", "podplane-knd-debian-13-amd64-000000000000.qcow2"), digest: digest("a") }, dependencies: earlierDeps, createdAt: "2026-01-01T00:00:00.000Z" });
    await writeImages(out, [earlier]);
    vi.stubEnv("CI", "1");
    vi.stubEnv("PODPLANE_ACCEL", "tcg");
    vi.stubEnv("PODPLANE_PACKER", path.join(FAKE_PACKER_DIR, "packer"));
    const testImage = (options: TestImageOptions): Promise<ImageTestReport> =>
      Promise.resolve({ image: options.image, kind: options.kind, ok: true, checks: [{ name: "services-active", ok: true, evidence: "all active" }], logPath: path.join(options.workDir ?? "", "serial.log"), seconds: 1 });
    // One kind is enough here (the first-image case is the test above); a bake costs seconds.
    const flags: BuildFlags = { kind: ["knd"], arch: ["amd64"], target: ["qemu"], base: "debootstrap", manifests: fixture.manifestsDir, mirror: fixture.mirrorDir, cache, out, jobs: 1, json: true, region: "us-east-1" };
    const summary = await runBuild(flags, new AbortController().signal, { testImage });
    expect(summary.results.map((r) => [r.kind, r.result])).toEqual([["knd", "built"]]);
    const doc = JSON.parse(await readFile(path.join(out, "images.json"), "utf8")) as ImagesFile;
    for (const result of summary.results) {
      const rec = doc.images.find((i) => i.name === result.name);
      expect(rec?.releaseNotes).toBe(path.join(out, "images", `${result.name ?? ""}.release-notes.md`));
      expect(result.record?.releaseNotes).toBe(rec?.releaseNotes);
    }
    const [kndResult] = summary.results;
    const kndNotes = await readFile(kndResult?.record?.releaseNotes ?? "", "utf8");
    expect(kndNotes.split("\n")[0]).toBe(`# Release notes: ${kndResult?.name ?? ""}`);
    expect(kndNotes.split("\n")[2]).toMatch(new RegExp(`^\`${earlier.name}\` → \`${kndResult?.name ?? ""}\`: 1 of 1 kind × arch changed: 1 added, 1 version change, 1 digest change with the same version, `));
    expect(kndNotes).toMatch(/^\| zot \| added \|/m);
    expect(kndNotes).toMatch(/^\| kubelet \| version \| 1\.35\.9 /m);
    expect(kndNotes).toMatch(/^\| runc \| \*\*digest only\*\* \| 1\.4\.2 \(`sha256:888888888888`\)/m);
    // The earlier record is still there (another name); the new one names its notes.
    expect(doc.images.map((i) => [i.name, i.releaseNotes ?? null])).toEqual([
      [earlier.name, null],
      [kndResult?.name, kndResult?.record?.releaseNotes],
    ]);
  }, 120_000);

  it("prune deletes the notes with their image (qemu beside the qcow2, aws in <out>/images/); merge keeps the field", async () => {
    const out = await tempDir("notes-prune-");
    const name = "podplane-knd-debian-13-amd64-222222222222";
    const awsName = "podplane-knd-debian-13-amd64-333333333333";
    const qcow2 = path.join(out, "images", `${name}.qcow2`);
    await mkdir(path.dirname(qcow2), { recursive: true });
    await writeFile(qcow2, "qcow2");
    await writeFile(path.join(out, "images", `${name}.release-notes.md`), "notes");
    await writeFile(path.join(out, "images", `${awsName}.release-notes.md`), "aws notes");
    const qemu = record({ name, qemu: { path: qcow2, digest: digest("b") }, releaseNotes: path.join(out, "images", `${name}.release-notes.md`) });
    expect((await qemuImageFiles(qemu, out)).map((f) => f.path)).toEqual([qcow2, path.join(out, "images", `${name}.release-notes.md`)]);
    expect((await awsImageFiles({ name: awsName }, out)).map((f) => f.path)).toEqual([path.join(out, "images", `${awsName}.release-notes.md`)]);
    expect(await awsImageFiles({ name: "podplane-other" }, out)).toEqual([]);

    // Through prune itself: the older of two qemu images goes with its notes; the newer keeps its own.
    const older = record({ name: "podplane-knd-debian-13-amd64-111111111111", qemu: { path: path.join(out, "images", "podplane-knd-debian-13-amd64-111111111111.qcow2"), digest: digest("a") }, createdAt: "2026-01-01T00:00:00.000Z" });
    await writeFile(older.qemu?.path ?? "", "qcow2");
    await writeFile(path.join(out, "images", `${older.name}.release-notes.md`), "older notes");
    await writeImages(out, [older, { ...qemu, createdAt: "2026-02-01T00:00:00.000Z" }]);
    process.exitCode = undefined;
    const pruned = await runCli("prune", "--keep", "1", "--out", out, "--json");
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(await exists(path.join(out, "images", `${older.name}.release-notes.md`))).toBe(false);
    expect(await exists(path.join(out, "images", `${name}.release-notes.md`))).toBe(true);

    const { doc } = mergeImagesFiles([{ file: "a.json", doc: parseImagesStrict("a.json", JSON.stringify({ version: 1, images: [qemu] })) }]);
    expect(doc.images[0]?.releaseNotes).toBe(qemu.releaseNotes);
  });
});
