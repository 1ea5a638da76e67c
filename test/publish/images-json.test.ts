import { readFile, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { describeTest, findImage, isBootTested, mergeImage, publishImage, readImagesFile, tfvarsFor, writeFileAtomic, type ImageRecord } from "../../pipeline/publish/index.js";
import { tempDir } from "../packer/fake-packer.js";
import { record } from "./records.js";


const knc = record({ name: "podplane-knc-debian-13-amd64-bbbbbbbbbbbb", kind: "knc" });
const amiOld = record({ name: "podplane-knd-debian-13-amd64-111111111111", target: "aws", qemu: undefined, amis: { "us-east-1": "ami-0old" }, createdAt: "2026-11-01T00:00:00.000Z" });
const amiNew = record({ name: "podplane-knd-debian-13-amd64-222222222222", target: "aws", qemu: undefined, amis: { "us-east-1": "ami-0new", "eu-west-1": "ami-0neweu" }, createdAt: "2026-11-20T00:00:00.000Z" });

describe("images.json", () => {
  it("merges: a new image is added, the same name + target is replaced, others are kept", () => {
    let doc = mergeImage({ version: 1, images: [] }, record({}));
    doc = mergeImage(doc, knc);
    doc = mergeImage(doc, record({ name: record({}).name, target: "aws", qemu: undefined, amis: { "us-east-1": "ami-1" } }));
    doc = mergeImage(doc, record({ buildSeconds: 99 }));
    expect(doc.images).toHaveLength(3);
    expect(findImage(doc, record({}).name, "qemu")?.buildSeconds).toBe(99);
    expect(findImage(doc, record({}).name, "aws")?.amis).toEqual({ "us-east-1": "ami-1" });
    expect(findImage(doc, knc.name, "qemu")).toEqual(knc);
    expect(findImage(doc, knc.name, "aws")).toBeUndefined();
  });

  it("publishes atomically into the out dir, merged with what is there, with no temp file left", async () => {
    const dir = await tempDir("publish-");
    await publishImage(dir, record({}));
    const { imagesFile, tfvarsFile } = await publishImage(dir, knc);
    const doc = await readImagesFile(imagesFile);
    expect(doc.images.map((i) => i.name).sort()).toEqual([knc.name, record({}).name].sort());
    expect(JSON.parse(await readFile(tfvarsFile, "utf8"))).toEqual({ podplane_images: {} });
    expect((await readdir(dir)).sort()).toEqual(["images.auto.tfvars.json", "images.json"]);
  });

  it("concurrent publishes all land (a lock file serialises the merge)", async () => {
    const dir = await tempDir("publish-many-");
    const records = Array.from({ length: 8 }, (_, i) => record({ name: `podplane-knd-debian-13-amd64-${String(i).padStart(12, "0")}` }));
    await Promise.all(records.map((r) => publishImage(dir, r)));
    const doc = await readImagesFile(path.join(dir, "images.json"));
    expect(doc.images.map((i) => i.name).sort()).toEqual(records.map((r) => r.name).sort());
    expect((await readdir(dir)).sort()).toEqual(["images.auto.tfvars.json", "images.json"]);
  });

  it("writeFileAtomic replaces the whole file or nothing, and cleans its temp file on failure", async () => {
    const dir = await tempDir("atomic-");
    const file = path.join(dir, "images.json");
    await writeFile(file, "old");
    await writeFileAtomic(file, "new content");
    expect(await readFile(file, "utf8")).toBe("new content");
    await expect(writeFileAtomic(path.join(dir, "missing-dir-is-created", "x.json"), "x")).resolves.toBeUndefined();
    await expect(writeFileAtomic(path.join(file, "not-a-dir.json"), "x")).rejects.toThrow();
    expect((await readdir(dir)).sort()).toEqual(["images.json", "missing-dir-is-created"]);
  });

  it("tfvars map kind/arch to the newest AMI per region (untested images allowed)", () => {
    const doc = { version: 1, images: [amiOld, amiNew, record({}), record({ name: "podplane-knc-debian-13-arm64-c", kind: "knc", arch: "arm64", target: "aws", qemu: undefined, amis: { "us-east-1": "ami-0arm" } })] };
    expect(tfvarsFor(doc, { allowUntested: true })).toEqual({ podplane_images: { knd: { amd64: { "us-east-1": "ami-0new", "eu-west-1": "ami-0neweu" } }, knc: { arm64: { "us-east-1": "ami-0arm" } } } });
  });

  it("tfvars never point at an untested image unless allowed: the newest tested one wins", () => {
    const passed: ImageRecord["test"] = { tested: true, ok: true, at: "2026-11-02T00:00:00.000Z", checks: [{ name: "services-active", ok: true }], seconds: 200, logPath: "/x" };
    const failed: ImageRecord["test"] = { ...passed, ok: false, checks: [{ name: "services-active", ok: false }] };
    const tested = { ...amiOld, test: passed };
    const untested = { ...amiNew, test: { tested: false, reason: "aws images are not boot-tested here" } };
    expect(tfvarsFor({ version: 1, images: [tested, untested] })).toEqual({ podplane_images: { knd: { amd64: { "us-east-1": "ami-0old" } } } });
    expect(tfvarsFor({ version: 1, images: [tested, { ...amiNew, test: failed }] })).toEqual({ podplane_images: { knd: { amd64: { "us-east-1": "ami-0old" } } } });
    expect(tfvarsFor({ version: 1, images: [untested, amiOld] })).toEqual({ podplane_images: {} });
    expect(tfvarsFor({ version: 1, images: [tested, untested] }, { allowUntested: true })).toEqual({ podplane_images: { knd: { amd64: { "us-east-1": "ami-0new", "eu-west-1": "ami-0neweu" } } } });
    expect(isBootTested(tested)).toBe(true);
    expect(isBootTested(amiOld)).toBe(false);
    expect(describeTest(untested)).toBe("not boot-tested (aws images are not boot-tested here)");
    expect(describeTest({ ...amiNew, test: failed })).toBe("boot test FAILED at 2026-11-02T00:00:00.000Z (services-active)");
  });

  it("a missing file is empty; a broken one is an error naming the file", async () => {
    const dir = await tempDir("images-bad-");
    expect(await readImagesFile(path.join(dir, "images.json"))).toEqual({ version: 1, images: [] });
    await writeFile(path.join(dir, "images.json"), "{ nope");
    await expect(readImagesFile(path.join(dir, "images.json"))).rejects.toThrow(/images.json: expected JSON/);
    await writeFile(path.join(dir, "images.json"), "[]");
    await expect(readImagesFile(path.join(dir, "images.json"))).rejects.toThrow(/expected \{"version"/);
  });
});
