import { readFile, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { imageName } from "../../pipeline/image/input-hash.js";
import {
  amiNamePattern,
  nstanceImageKey,
  publishImage,
  resolveAwsOwner,
  writeDerivedFiles,
  type ImageRecord,
  type ImagesFile,
} from "../../pipeline/publish/index.js";
import { tempDir } from "../helpers/temp-dir.js";

// What Nstance reads from one entry of the server config's `images` map, written down from
// nstance-dev/nstance internal/server/config/types.go: `ImageConfig` / `ImageFilter` (their
// json tags and `validate` tags) and `Config.Validate` (the key must be a Go template
// identifier; sort is "creation-date" or "name"; at least one filter). Go's encoding/json drops
// unknown fields silently, so a misspelt field would be ignored rather than refused: the test
// refuses any field not listed here.
const NSTANCE_IMAGE_FIELDS = {
  provider: { required: true, type: "string", oneOf: ["aws", "oci"] },
  filters: { required: true, type: "filters" }, // []ImageFilter, validate:"required,min=1"
  owners: { required: false, type: "string[]" }, // omitempty: AWS account IDs, "self", "amazon"
  sort: { required: true, type: "string", oneOf: ["creation-date", "name"] },
  order: { required: true, type: "string", oneOf: ["asc", "desc"] },
  fallback: { required: false, type: "string" }, // *string, omitempty
} as const;
const NSTANCE_FILTER_FIELDS = { name: "string", values: "string[]" } as const; // ImageFilter, both required
const GO_TEMPLATE_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/; // isValidTemplateIdentifier in types.go

/** Every problem with one `images` map against the fields above; empty when Nstance would load it. */
function nstanceImageProblems(images: unknown): string[] {
  const problems: string[] = [];
  if (!images || typeof images !== "object" || Array.isArray(images)) return ["images: not an object"];
  const isStrings = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === "string");
  for (const [key, entry] of Object.entries(images as Record<string, unknown>)) {
    if (!GO_TEMPLATE_IDENTIFIER.test(key)) problems.push(`${key}: not a Go template identifier`);
    if (!entry || typeof entry !== "object") {
      problems.push(`${key}: not an object`);
      continue;
    }
    const e = entry as Record<string, unknown>;
    for (const field of Object.keys(e)) if (!(field in NSTANCE_IMAGE_FIELDS)) problems.push(`${key}.${field}: not a field Nstance reads`);
    for (const [field, rule] of Object.entries(NSTANCE_IMAGE_FIELDS)) {
      const value = e[field];
      if (value === undefined) {
        if (rule.required) problems.push(`${key}.${field}: required`);
        continue;
      }
      if (rule.type === "string" && typeof value !== "string") problems.push(`${key}.${field}: not a string`);
      if (rule.type === "string[]" && !isStrings(value)) problems.push(`${key}.${field}: not a list of strings`);
      if ("oneOf" in rule && !(rule.oneOf as readonly unknown[]).includes(value)) problems.push(`${key}.${field}: ${JSON.stringify(value)} not one of ${rule.oneOf.join(", ")}`);
      if (rule.type === "filters") {
        if (!Array.isArray(value) || value.length === 0) {
          problems.push(`${key}.filters: needs at least one filter`);
          continue;
        }
        for (const [i, filter] of (value as unknown[]).entries()) {
          const f = (filter ?? {}) as Record<string, unknown>;
          for (const name of Object.keys(f)) if (!(name in NSTANCE_FILTER_FIELDS)) problems.push(`${key}.filters[${i}].${name}: not a field Nstance reads`);
          if (typeof f.name !== "string" || f.name === "") problems.push(`${key}.filters[${i}].name: required string`);
          if (!isStrings(f.values)) problems.push(`${key}.filters[${i}].values: required list of strings`);
        }
      }
    }
  }
  return problems;
}

/** EC2 DescribeImages filter semantics: `*` any run of characters, `?` exactly one, the rest literal. */
function ec2FilterMatches(pattern: string, value: string): boolean {
  const source = [...pattern].map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&"))).join("");
  return new RegExp(`^${source}$`, "s").test(value);
}

const PASSED = { tested: true, ok: true, at: "2026-11-25T09:00:00Z", checks: [] };

function ami(kind: string, arch: string, hash: string, amis: Record<string, string>, createdAt: string, over: Partial<ImageRecord> = {}): ImageRecord {
  const name = imageName({ kind, os: "debian-13", arch }, hash);
  return {
    name,
    kind,
    arch,
    os: "debian-13",
    target: "aws",
    inputHash: hash.padEnd(64, "0"),
    amis,
    dependencies: [],
    vmconfigDigest: `sha256:${"d".repeat(64)}`,
    baseImage: { source: "debian-13-amd64-*", digest: "x" },
    size: 1,
    buildSeconds: 1,
    packerVersion: "1.6.6",
    createdAt,
    test: PASSED,
    ...over,
  };
}

const kncOld = ami("knc", "amd64", "111111111111", { "us-east-1": "ami-0aaa000000000001", "eu-west-1": "ami-0bbb000000000001" }, "2026-11-01T00:00:00Z");
const kncNew = ami("knc", "amd64", "222222222222", { "us-east-1": "ami-0aaa000000000002", "eu-west-1": "ami-0bbb000000000002" }, "2026-11-20T00:00:00Z");
const kndArm = ami("knd", "arm64", "333333333333", { "us-east-1": "ami-0ccc000000000003" }, "2026-11-10T00:00:00Z");
const kndQemu: ImageRecord = { ...ami("knd", "amd64", "444444444444", {}, "2026-11-21T00:00:00Z"), target: "qemu", amis: undefined, qemu: { path: "/x.qcow2", digest: "sha256:x" } };
const doc: ImagesFile = { version: 1, images: [kncOld, kncNew, kndArm, kndQemu] };

async function readFragment(dir: string, region: string): Promise<{ images: Record<string, Record<string, unknown>> }> {
  return JSON.parse(await readFile(path.join(dir, `nstance-images.${region}.json`), "utf8")) as { images: Record<string, Record<string, unknown>> };
}

describe("Nstance images fragment", () => {
  it("writes one fragment per region, in the shape Nstance's config loader reads, beside the tfvars", async () => {
    const dir = await tempDir("nstance-");
    const written = await writeDerivedFiles(dir, doc, { awsOwner: "123456789012" });
    expect((await readdir(dir)).sort()).toEqual(["images.auto.tfvars.json", "nstance-images.eu-west-1.json", "nstance-images.us-east-1.json"]);
    expect(written.nstanceFiles.map((f) => path.basename(f))).toEqual(["nstance-images.eu-west-1.json", "nstance-images.us-east-1.json"]);

    const east = await readFragment(dir, "us-east-1");
    expect(Object.keys(east)).toEqual(["images"]);
    expect(nstanceImageProblems(east.images)).toEqual([]);
    expect(Object.keys(east.images)).toEqual(["podplane_knc_debian_13_amd64", "podplane_knd_debian_13_arm64"]);
    expect(east.images.podplane_knc_debian_13_amd64).toEqual({
      provider: "aws",
      filters: [
        { name: "name", values: ["podplane-knc-debian-13-amd64-????????????"] },
        { name: "state", values: ["available"] },
        { name: "architecture", values: ["x86_64"] },
      ],
      owners: ["123456789012"],
      sort: "creation-date",
      order: "desc",
      fallback: "ami-0aaa000000000002", // the newest knc/amd64 AMI in this region
    });
    expect(east.images.podplane_knd_debian_13_arm64?.filters).toContainEqual({ name: "architecture", values: ["arm64"] });

    const west = await readFragment(dir, "eu-west-1");
    expect(nstanceImageProblems(west.images)).toEqual([]);
    expect(Object.keys(west.images)).toEqual(["podplane_knc_debian_13_amd64"]);
    expect(west.images.podplane_knc_debian_13_amd64?.fallback).toBe("ami-0bbb000000000002");

    // The tfvars are kept and point at the same AMIs as the fallbacks.
    const tfvars = JSON.parse(await readFile(written.tfvarsFile, "utf8")) as unknown;
    expect(tfvars).toEqual({ podplane_images: { knc: { amd64: { "us-east-1": "ami-0aaa000000000002", "eu-west-1": "ami-0bbb000000000002" } }, knd: { arm64: { "us-east-1": "ami-0ccc000000000003" } } } });
  });

  it("the shape check itself refuses what Nstance would not load", () => {
    const good = { provider: "aws", filters: [{ name: "name", values: ["x"] }], sort: "creation-date", order: "desc" };
    expect(nstanceImageProblems({ ok_key: good })).toEqual([]);
    expect(nstanceImageProblems({ "bad-key": good })).toEqual(["bad-key: not a Go template identifier"]);
    expect(nstanceImageProblems({ k: { ...good, sort: "date" } })).toEqual(['k.sort: "date" not one of creation-date, name']);
    expect(nstanceImageProblems({ k: { ...good, filters: [] } })).toEqual(["k.filters: needs at least one filter"]);
    expect(nstanceImageProblems({ k: { ...good, owner: ["self"] } })).toEqual(["k.owner: not a field Nstance reads"]);
    expect(nstanceImageProblems({ k: { ...good, filters: [{ Name: "name", values: ["x"] }] } })).toContain("k.filters[0].Name: not a field Nstance reads");
    expect(nstanceImageProblems({ k: { provider: "aws", filters: good.filters, sort: "name" } })).toEqual(["k.order: required"]);
  });

  it("the name filter matches exactly the names this tool publishes for that kind/os/arch", () => {
    const pattern = amiNamePattern({ kind: "knc", os: "debian-13", arch: "amd64" });
    for (const hash of ["111111111111", "abcdef012345", "a".repeat(64)]) {
      expect(ec2FilterMatches(pattern, imageName({ kind: "knc", os: "debian-13", arch: "amd64" }, hash))).toBe(true);
    }
    for (const image of doc.images) {
      const mine = image.kind === "knc" && image.arch === "amd64";
      expect(ec2FilterMatches(pattern, image.name), image.name).toBe(mine);
    }
    const others = [
      imageName({ kind: "knd", os: "debian-13", arch: "amd64" }, "111111111111"),
      imageName({ kind: "knc", os: "debian-13", arch: "arm64" }, "111111111111"),
      imageName({ kind: "knc", os: "debian-12", arch: "amd64" }, "111111111111"),
      "podplane-knc-debian-13-amd64-11111111111", // one short
      "podplane-knc-debian-13-amd64-1111111111111", // one long
      "podplane-knc-debian-13-amd64-111111111111-copy",
      "xpodplane-knc-debian-13-amd64-111111111111",
      "podplane-knc-gpu-debian-13-amd64-111111111111",
      "debian-13-amd64-20261120-1234", // Debian's own AMIs, what the base image filter finds
    ];
    for (const name of others) expect(ec2FilterMatches(pattern, name), name).toBe(false);
  });

  it("keys are Go template identifiers built from kind, os and arch; a kind that cannot be one is refused", () => {
    expect(nstanceImageKey({ kind: "knd", os: "debian-13", arch: "arm64" })).toBe("podplane_knd_debian_13_arm64");
    expect(() => nstanceImageKey({ kind: "kn.d", os: "debian-13", arch: "arm64" })).toThrow(/ENSTANCEKEY|Go template identifier/);
  });

  it("covers what the tfvars cover: untested aws images only with allowUntested", async () => {
    const untested = { version: 1, images: [{ ...kncNew, test: { tested: false, reason: "aws images are not boot-tested here" } }] };
    const dir = await tempDir("nstance-untested-");
    expect((await writeDerivedFiles(dir, untested, { awsOwner: "self" })).nstanceFiles).toEqual([]);
    expect((await readdir(dir)).sort()).toEqual(["images.auto.tfvars.json"]);
    await writeDerivedFiles(dir, untested, { awsOwner: "self", allowUntested: true });
    expect((await readFragment(dir, "us-east-1")).images.podplane_knc_debian_13_amd64?.fallback).toBe("ami-0aaa000000000002");
  });

  it("removes the fragment of a region that is no longer published, and leaves other files alone", async () => {
    const dir = await tempDir("nstance-stale-");
    await writeFile(path.join(dir, "notes.json"), "{}\n");
    await writeDerivedFiles(dir, doc, { awsOwner: "self" });
    await writeDerivedFiles(dir, { version: 1, images: [kndArm] }, { awsOwner: "self" });
    expect((await readdir(dir)).sort()).toEqual(["images.auto.tfvars.json", "notes.json", "nstance-images.us-east-1.json"]);
    expect(Object.keys((await readFragment(dir, "us-east-1")).images)).toEqual(["podplane_knd_debian_13_arm64"]);
  });

  it("the owner comes from the option, else $PODPLANE_IMAGES_AWS_OWNER, else self; a bad one is refused by name", () => {
    expect(resolveAwsOwner(undefined, {})).toBe("self");
    expect(resolveAwsOwner(undefined, { PODPLANE_IMAGES_AWS_OWNER: "" })).toBe("self");
    expect(resolveAwsOwner(undefined, { PODPLANE_IMAGES_AWS_OWNER: "210987654321" })).toBe("210987654321");
    expect(resolveAwsOwner("123456789012", { PODPLANE_IMAGES_AWS_OWNER: "210987654321" })).toBe("123456789012");
    expect(() => resolveAwsOwner(undefined, { PODPLANE_IMAGES_AWS_OWNER: "1234" })).toThrow(/PODPLANE_IMAGES_AWS_OWNER: expected a 12-digit AWS account ID or "self", found "1234"/);
    expect(() => resolveAwsOwner("amazon", {})).toThrow(/AWS owner option/);
  });

  it("publish refuses a bad owner before images.json changes", async () => {
    const dir = await tempDir("nstance-publish-");
    await publishImage(dir, kndArm, { awsOwner: "self" });
    const before = await readFile(path.join(dir, "images.json"), "utf8");
    await expect(publishImage(dir, kncNew, { awsOwner: "not-an-account" })).rejects.toMatchObject({ code: "EAWSOWNER" });
    expect(await readFile(path.join(dir, "images.json"), "utf8")).toBe(before);
    const { nstanceFiles } = await publishImage(dir, kncNew, { awsOwner: "123456789012" });
    expect(nstanceFiles.map((f) => path.basename(f))).toEqual(["nstance-images.eu-west-1.json", "nstance-images.us-east-1.json"]);
  });

  it("a corrupt region or AMI ID in images.json is refused before anything is written", async () => {
    const dir = await tempDir("nstance-corrupt-");
    const badRegion = { version: 1, images: [ami("knc", "amd64", "555555555555", { "../../etc": "ami-0abc" }, "2026-11-22T00:00:00Z")] };
    await expect(writeDerivedFiles(dir, badRegion, { awsOwner: "self" })).rejects.toMatchObject({ code: "ENSTANCEREGION" });
    const badAmi = { version: 1, images: [ami("knc", "amd64", "555555555555", { "us-east-1": "ami 0abc" }, "2026-11-22T00:00:00Z")] };
    await expect(writeDerivedFiles(dir, badAmi, { awsOwner: "self" })).rejects.toMatchObject({ code: "ENSTANCEAMI" });
    expect(await readdir(dir)).toEqual([]);
  });
});
