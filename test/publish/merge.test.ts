// `images merge`: the outputs of parallel build jobs become the images.json one combined build
// would have published; conflicts and bad inputs are refused with nothing written.
import { mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { mergeImagesFiles } from "../../pipeline/publish/merge.js";
import { publishImage, type ImageRecord } from "../../pipeline/publish/index.js";
import { resetCliStateAfterEach, runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/temp-dir.js";
import { record } from "./records.js";


const tested = { tested: true, ok: true, at: "2026-11-25T09:00:00.000Z", checks: [{ name: "services", ok: true }] };
const kndQemu = record({ test: tested });
const kncQemu = record({ name: "podplane-knc-debian-13-amd64-bbbbbbbbbbbb", kind: "knc", inputHash: "b".repeat(64), qemu: { path: "/job2/out/images/podplane-knc-debian-13-amd64-bbbbbbbbbbbb.qcow2", digest: `sha256:${"1".repeat(64)}` }, createdAt: "2026-11-25T08:30:00.000Z", test: tested });
const kndAws = record({ name: "podplane-knd-debian-13-amd64-cccccccccccc", target: "aws", qemu: undefined, amis: { "us-east-1": "ami-0knd", "eu-west-1": "ami-0kndeu" }, createdAt: "2026-11-25T07:00:00.000Z", test: tested });
const kncAws = record({ name: "podplane-knc-debian-13-amd64-dddddddddddd", kind: "knc", target: "aws", qemu: undefined, amis: { "us-east-1": "ami-0knc" }, createdAt: "2026-11-25T07:30:00.000Z", test: tested });

async function jobOutput(root: string, name: string, records: ImageRecord[]): Promise<string> {
  const dir = path.join(root, name);
  for (const r of records) await publishImage(dir, r);
  return path.join(dir, "images.json");
}

describe("images merge", () => {
  resetCliStateAfterEach();

  it("two job outputs merge into exactly the images.json and tfvars of one combined publish, in any order", async () => {
    const root = await tempDir("merge-");
    const jobA = await jobOutput(root, "job-a", [kndQemu, kndAws]);
    const jobB = await jobOutput(root, "job-b", [kncAws, kncQemu]);
    const combined = path.dirname(await jobOutput(root, "combined", [kncQemu, kndAws, kndQemu, kncAws]));

    const out = path.join(root, "merged");
    const result = await runCli("images", "merge", jobA, jobB, "--out", out, "--json");
    expect(result.code, result.stderr).toBe(0);
    expect(await readFile(path.join(out, "images.json"), "utf8")).toBe(await readFile(path.join(combined, "images.json"), "utf8"));
    expect(await readFile(path.join(out, "images.auto.tfvars.json"), "utf8")).toBe(await readFile(path.join(combined, "images.auto.tfvars.json"), "utf8"));
    const tfvars = JSON.parse(await readFile(path.join(out, "images.auto.tfvars.json"), "utf8")) as unknown;
    expect(tfvars).toEqual({ podplane_images: { knd: { amd64: kndAws.amis }, knc: { amd64: kncAws.amis } } });
    const report = JSON.parse(result.stdout) as { ok: boolean; images: unknown[] };
    expect(report.ok).toBe(true);
    expect(report.images).toHaveLength(4);

    const reversed = path.join(root, "merged-reversed");
    expect((await runCli("images", "merge", jobB, jobA, "--out", reversed)).code).toBe(0);
    expect(await readFile(path.join(reversed, "images.json"), "utf8")).toBe(await readFile(path.join(out, "images.json"), "utf8"));
    // Every derived file (tfvars, one Nstance fragment per region) is regenerated, as publish writes it.
    const files = (await readdir(combined)).sort();
    expect(files).toEqual(expect.arrayContaining(["images.auto.tfvars.json", "images.json", "nstance-images.us-east-1.json"]));
    expect((await readdir(out)).sort()).toEqual(files);
    for (const file of files) expect(await readFile(path.join(out, file), "utf8"), file).toBe(await readFile(path.join(combined, file), "utf8"));
  });

  it("merges into DIR/images.json when it exists, and an identical duplicate is not a conflict", async () => {
    const root = await tempDir("merge-into-");
    const out = path.dirname(await jobOutput(root, "out", [kndQemu]));
    // The same knd image again (another job's path, a later test): same digest, same image.
    const jobB = await jobOutput(root, "job-b", [{ ...kndQemu, qemu: { path: "/elsewhere/podplane-knd-debian-13-amd64-aaaaaaaaaaaa.qcow2", digest: kndQemu.qemu?.digest ?? "" } }, kncQemu]);
    const result = await runCli("images", "merge", jobB, "--out", out);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("merged 2 files, 2 images");
    const doc = JSON.parse(await readFile(path.join(out, "images.json"), "utf8")) as { images: ImageRecord[] };
    expect(doc.images.map((i) => i.name)).toEqual([kncQemu.name, kndQemu.name]);
  });

  it("of two records of the same artifact keeps the boot-tested one, whichever comes first", () => {
    const untested = { ...kndQemu, test: { tested: false, reason: "--skip-test" } };
    for (const order of [
      [untested, kndQemu],
      [kndQemu, untested],
    ]) {
      const { doc, conflicts } = mergeImagesFiles(order.map((r, i) => ({ file: `f${i}`, doc: { version: 1, images: [r] } })));
      expect(conflicts).toEqual([]);
      expect(doc.images).toEqual([kndQemu]);
    }
  });

  it("the same name + target with another qcow2 digest or other AMIs is a conflict: exit 1, both files and the image named, nothing written", async () => {
    const root = await tempDir("merge-conflict-");
    const out = path.join(root, "out");
    await mkdir(out);
    await writeFile(path.join(out, "images.json"), "{\"version\": 1, \"images\": []}\n");
    const before = await readFile(path.join(out, "images.json"), "utf8");
    const jobA = await jobOutput(root, "job-a", [kndQemu, kndAws]);
    const jobB = await jobOutput(root, "job-b", [
      { ...kndQemu, qemu: { path: "/x.qcow2", digest: `sha256:${"9".repeat(64)}` } },
      { ...kndAws, amis: { ...kndAws.amis, "us-east-1": "ami-0other" } },
    ]);
    const result = await runCli("images", "merge", jobA, jobB, "--out", out);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("EMERGECONFLICT");
    expect(result.stderr).toContain(`${kndQemu.name} (qemu): ${jobA} has qcow2 sha256:${"b".repeat(64)}, ${jobB} has qcow2 sha256:${"9".repeat(64)}`);
    expect(result.stderr).toContain(`${kndAws.name} (aws): ${jobA} has amis eu-west-1=ami-0kndeu,us-east-1=ami-0knd, ${jobB} has amis eu-west-1=ami-0kndeu,us-east-1=ami-0other`);
    expect(await readFile(path.join(out, "images.json"), "utf8")).toBe(before);
    expect(await readdir(out)).toEqual(["images.json"]);
  });

  it.each([
    ["another format version", `{"version": 2, "images": []}`, "$.version: this tool reads images.json format version 1, found 2"],
    ["no version", `{"images": []}`, "$.version: this tool reads images.json format version 1, found null"],
    ["corrupt JSON", `{"version": 1, "images": [\n  {"name": `, "$: not JSON (syntax error at line 2"],
    ["a record without its artifact", `{"version": 1, "images": [{"name": "x", "kind": "knd", "arch": "amd64", "os": "debian-13", "target": "aws", "inputHash": "h", "createdAt": "2026-11-01T00:00:00Z"}]}`, "$.images[0].amis: an aws record needs amis"],
    ["a bad target", `{"version": 1, "images": [{"name": "x", "kind": "knd", "arch": "amd64", "os": "debian-13", "target": "gce", "inputHash": "h", "createdAt": "2026-11-01T00:00:00Z"}]}`, "$.images[0].target"],
    ["a bad AMI ID", `{"version": 1, "images": [{"name": "x", "kind": "knd", "arch": "amd64", "os": "debian-13", "target": "aws", "inputHash": "h", "createdAt": "2026-11-01T00:00:00Z", "amis": {"us-east-1": "i-123"}}]}`, '$.images[0].amis["us-east-1"]: expected an AMI ID'],
  ])("an input with %s exits 2 naming the file and the JSON path; nothing is written", async (_what, content, message) => {
    const root = await tempDir("merge-bad-");
    const good = await jobOutput(root, "job-a", [kndQemu]);
    const bad = path.join(root, "bad.json");
    await writeFile(bad, content);
    const out = path.join(root, "out");
    const result = await runCli("images", "merge", good, bad, "--out", out, "--json");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${bad}: ${message}`);
    expect(await readdir(out)).toEqual([]);
  });

  it("a corrupt DIR/images.json is refused too, and stays as it was", async () => {
    const root = await tempDir("merge-bad-dir-");
    const out = path.join(root, "out");
    await mkdir(out);
    await writeFile(path.join(out, "images.json"), "not json");
    const result = await runCli("images", "merge", await jobOutput(root, "job-a", [kndQemu]), "--out", out);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${path.join(out, "images.json")}: $: not JSON`);
    expect(await readFile(path.join(out, "images.json"), "utf8")).toBe("not json");
  });

  it("a missing input file and a missing --out are usage errors", async () => {
    const root = await tempDir("merge-usage-");
    const missing = await runCli("images", "merge", path.join(root, "nope.json"), "--out", root);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`${path.join(root, "nope.json")}: cannot read it (ENOENT)`);
    expect((await runCli("images", "merge", path.join(root, "nope.json"))).code).toBe(2);
  });

  it("keeps the jobs' --allow-untested: a job tfvars pointing at an untested AMI makes the merged one point there too", async () => {
    const root = await tempDir("merge-untested-");
    const untestedAws = { ...kndAws, test: { tested: false, reason: "aws images are not boot-tested here" } };
    const jobDir = path.join(root, "job");
    await publishImage(jobDir, untestedAws, { allowUntested: true });
    const out = path.join(root, "out");
    expect((await runCli("images", "merge", path.join(jobDir, "images.json"), "--out", out)).code).toBe(0);
    expect(JSON.parse(await readFile(path.join(out, "images.auto.tfvars.json"), "utf8"))).toEqual({ podplane_images: { knd: { amd64: kndAws.amis } } });
  });
});
