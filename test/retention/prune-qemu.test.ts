// prune on qemu images in a temp out dir: the qcow2 files, the per-image side files the pipeline
// writes (images/<name>.manifest/, logs/<name>.log, logs/<name>.test/, .work/<name>/) and the
// records go; the rest stays.
import { mkdir, readFile, readdir, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { ImageRecord, ImagesFile } from "../../pipeline/publish/index.js";
import type { PruneReport } from "../../pipeline/retention/prune.js";
import { resetCliStateAfterEach, runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/temp-dir.js";

const DAY = 24 * 60 * 60 * 1000;

function daysAgo(days: number): string {
  return new Date(Date.now() - days * DAY).toISOString();
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

/** A qemu image as build leaves it: the qcow2, its Podplane manifest, its Packer log, its boot test dir. */
async function qemuImage(out: string, kind: string, arch: string, hash: string, ageDays: number): Promise<ImageRecord> {
  const name = `podplane-${kind}-debian-13-${arch}-${hash}`;
  const qcow2 = path.join(out, "images", `${name}.qcow2`);
  await mkdir(path.dirname(qcow2), { recursive: true });
  await writeFile(qcow2, `qcow2 of ${name}`);
  await mkdir(path.join(out, "images", `${name}.manifest`), { recursive: true });
  await writeFile(path.join(out, "images", `${name}.manifest`, `${kind}.debian-13.${arch}.json`), "{}");
  await mkdir(path.join(out, "logs", `${name}.test`), { recursive: true });
  await writeFile(path.join(out, "logs", `${name}.log`), "packer log");
  await writeFile(path.join(out, "logs", `${name}.test`, "serial.log"), "serial");
  return {
    name,
    kind,
    arch,
    os: "debian-13",
    target: "qemu",
    inputHash: hash.padEnd(64, "0"),
    qemu: { path: qcow2, digest: `sha256:${"b".repeat(64)}` },
    dependencies: [],
    vmconfigDigest: `sha256:${"d".repeat(64)}`,
    baseImage: { source: "debootstrap:x.qcow2", digest: `sha256:${"e".repeat(64)}` },
    size: 10,
    buildSeconds: 100,
    packerVersion: "1.6.6",
    createdAt: daysAgo(ageDays),
    test: { tested: true, ok: true, at: daysAgo(ageDays), checks: [], logPath: path.join(out, "logs", `${name}.test`, "serial.log") },
  };
}

function sideFiles(out: string, r: ImageRecord): string[] {
  return [r.qemu?.path ?? "", path.join(out, "images", `${r.name}.manifest`), path.join(out, "logs", `${r.name}.log`), path.join(out, "logs", `${r.name}.test`)];
}

async function fleet() {
  const out = await tempDir("prune-qemu-");
  const knd = [await qemuImage(out, "knd", "amd64", "a00000000001", 1), await qemuImage(out, "knd", "amd64", "a00000000002", 10), await qemuImage(out, "knd", "amd64", "a00000000003", 40)];
  const knc = [await qemuImage(out, "knc", "amd64", "c00000000001", 2), await qemuImage(out, "knc", "amd64", "c00000000002", 50)];
  const arm = [await qemuImage(out, "knd", "arm64", "e00000000001", 60)];
  // A leftover work dir of the oldest knd image (a bake that was interrupted after publish).
  await mkdir(path.join(out, ".work", knd[2]?.name ?? "", "stage"), { recursive: true });
  // Not an image file of any record: must survive every prune.
  await writeFile(path.join(out, "images", "notes.txt"), "mine");
  // Shuffled on purpose: prune orders by the recorded build time, not by file order.
  const images = [knd[1], arm[0], knc[1], knd[0], knd[2], knc[0]] as ImageRecord[];
  await writeFile(path.join(out, "images.json"), `${JSON.stringify({ version: 1, images }, null, 2)}\n`);
  await writeFile(path.join(out, "images.auto.tfvars.json"), `${JSON.stringify({ podplane_images: {} }, null, 2)}\n`);
  return { out, knd, knc, arm };
}

async function names(out: string): Promise<string[]> {
  const doc = JSON.parse(await readFile(path.join(out, "images.json"), "utf8")) as ImagesFile;
  return doc.images.map((i) => i.name).sort();
}

describe("prune (qemu)", () => {
  resetCliStateAfterEach();

  it("keeps the newest N per kind x arch x target and deletes the rest with their side files and records", async () => {
    const f = await fleet();
    const result = await runCli("prune", "--keep", "1", "--out", f.out);
    expect(result.code, result.stderr).toBe(0);
    const gone = [f.knd[1], f.knd[2], f.knc[1]] as ImageRecord[];
    const kept = [f.knd[0], f.knc[0], f.arm[0]] as ImageRecord[];
    for (const r of gone) for (const file of sideFiles(f.out, r)) expect(await exists(file), file).toBe(false);
    expect(await exists(path.join(f.out, ".work", f.knd[2]?.name ?? ""))).toBe(false);
    for (const r of kept) for (const file of sideFiles(f.out, r)) expect(await exists(file), file).toBe(true);
    expect(await exists(path.join(f.out, "images", "notes.txt"))).toBe(true);
    expect(await names(f.out)).toEqual(kept.map((r) => r.name).sort());
    expect(result.stdout).toMatch(/^ACTION\s+IMAGE\s+TARGET\s+CREATED\s+WHAT \/ WHY$/m);
    expect(result.stdout).toMatch(new RegExp(`^deleted\\s+${f.knd[2]?.name}\\s+qemu\\s+\\S+\\s+${f.knd[2]?.qemu?.path}`, "m"));
    expect(result.stdout).toMatch(new RegExp(`^keep\\s+${f.knd[0]?.name}\\s+qemu\\s+\\S+\\s+one of the newest 1$`, "m"));
    expect(result.stdout).toContain("deleted 3, kept 3, refused 0, failed 0");
    expect((await readdir(f.out)).filter((n) => n.endsWith(".lock") || n.endsWith(".tmp"))).toEqual([]);
  });

  it("--dry-run prints exactly what would go and deletes nothing", async () => {
    const f = await fleet();
    const before = await readFile(path.join(f.out, "images.json"), "utf8");
    const result = await runCli("prune", "--keep", "1", "--out", f.out, "--dry-run", "--json");
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as PruneReport & { ok: boolean };
    expect(report.ok).toBe(true);
    expect(report.dryRun).toBe(true);
    expect(report.pruned.map((p) => p.name).sort()).toEqual([f.knd[1], f.knd[2], f.knc[1]].map((r) => r?.name).sort());
    const oldest = report.pruned.find((p) => p.name === f.knd[2]?.name);
    expect(oldest?.files.sort()).toEqual([...sideFiles(f.out, f.knd[2] as ImageRecord), path.join(f.out, ".work", f.knd[2]?.name ?? "")].sort());
    for (const r of [...f.knd, ...f.knc, ...f.arm]) for (const file of sideFiles(f.out, r)) expect(await exists(file), file).toBe(true);
    expect(await readFile(path.join(f.out, "images.json"), "utf8")).toBe(before);
  });

  it("--older-than only deletes images older than that; selectors limit what is considered", async () => {
    const f = await fleet();
    const older = await runCli("prune", "--keep", "1", "--older-than", "30", "--out", f.out, "--json");
    expect(older.code, older.stderr).toBe(0);
    const report = JSON.parse(older.stdout) as PruneReport;
    // knd 10 days old is past --keep 1 but younger than 30 days: kept.
    expect(report.pruned.map((p) => p.name).sort()).toEqual([f.knd[2]?.name, f.knc[1]?.name].sort());
    expect(report.kept.find((k) => k.name === f.knd[1]?.name)?.reason).toBe("younger");

    const f2 = await fleet();
    const onlyKnc = await runCli("prune", "--keep", "1", "--kind", "knc", "--arch", "amd64", "--target", "qemu", "--out", f2.out, "--json");
    expect(onlyKnc.code, onlyKnc.stderr).toBe(0);
    expect((JSON.parse(onlyKnc.stdout) as PruneReport).pruned.map((p) => p.name)).toEqual([f2.knc[1]?.name]);
    expect(await names(f2.out)).toEqual([...f2.knd, f2.knc[0], ...f2.arm].map((r) => r?.name).sort());
  });

  it("a qcow2 path that is not <name>.qcow2 is not deleted (a record edited to point elsewhere)", async () => {
    const f = await fleet();
    const stranger = path.join(f.out, "images", "notes.txt");
    const doc = JSON.parse(await readFile(path.join(f.out, "images.json"), "utf8")) as ImagesFile;
    for (const r of doc.images) if (r.name === f.knd[2]?.name && r.qemu) r.qemu.path = stranger;
    await writeFile(path.join(f.out, "images.json"), JSON.stringify(doc));
    expect((await runCli("prune", "--keep", "1", "--out", f.out)).code).toBe(0);
    expect(await exists(stranger)).toBe(true);
    expect(await names(f.out)).not.toContain(f.knd[2]?.name);
  });

  it.each([
    [["--keep", "0"], "expected a whole number of images, at least 1"],
    [["--keep", "x"], "expected a whole number of images"],
    [["--keep", "1", "--kind", "kxx"], 'unknown kind "kxx"'],
    [["--keep", "1", "--arch", "riscv"], 'unknown arch "riscv"'],
    [["--keep", "1", "--target", "gce"], 'unknown target "gce"'],
    [["--keep", "1", "--older-than", "soon"], "expected a number of days"],
    [[], "required option '--keep <n>' not specified"],
  ])("bad usage %j exits 2 naming the value", async (args, message) => {
    const f = await fleet();
    const result = await runCli("prune", ...args, "--out", f.out);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
  });

  it("a corrupt images.json or tfvars, or none at all, exits 2 naming the file and deletes nothing", async () => {
    const f = await fleet();
    await writeFile(path.join(f.out, "images.auto.tfvars.json"), "{");
    const badTfvars = await runCli("prune", "--keep", "1", "--out", f.out);
    expect(badTfvars.code).toBe(2);
    expect(badTfvars.stderr).toContain(`${path.join(f.out, "images.auto.tfvars.json")}: $: not JSON`);
    await writeFile(path.join(f.out, "images.json"), `{"version": 3, "images": []}`);
    const badImages = await runCli("prune", "--keep", "1", "--out", f.out);
    expect(badImages.code).toBe(2);
    expect(badImages.stderr).toContain(`${path.join(f.out, "images.json")}: $.version`);
    for (const r of [...f.knd, ...f.knc, ...f.arm]) expect(await exists(r.qemu?.path ?? "")).toBe(true);
    const empty = await tempDir("prune-none-");
    const none = await runCli("prune", "--keep", "1", "--out", empty);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain(`no images.json in ${empty}`);
  });
});
