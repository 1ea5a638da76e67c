// The build plan as data: which entries a selection means, their input hashes (the same a
// bake computes), what a build would do with each given images.json, and that computing it
// writes nothing.
import { copyFile, mkdir, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../pipeline/cli/options.js";
import { imageRecord, resolveBase, resolveIdentity, untested, type BakeSettings } from "../../pipeline/image/bake.js";
import { loadManifests } from "../../pipeline/manifest/index.js";
import { githubMatrix, planJson, planTable } from "../../pipeline/plan/format.js";
import { computePlan, type PlanOptions } from "../../pipeline/plan/plan.js";
import { publishImage, type ImageTestRecord } from "../../pipeline/publish/index.js";
import { tempDir } from "../helpers/temp-dir.js";
import { writeCachedBase } from "../helpers/fake-build.js";

const MANIFESTS = path.join(PROJECT_ROOT, "manifests");
const PASSED: ImageTestRecord = { tested: true, ok: true, at: "2026-01-01T00:00:00.000Z", checks: [{ name: "cloud-init", ok: true }], seconds: 1 };
const FAILED: ImageTestRecord = { tested: true, ok: false, at: "2026-01-01T00:00:00.000Z", checks: [{ name: "cloud-init", ok: false }], seconds: 1 };

async function options(extra: Partial<PlanOptions> = {}): Promise<PlanOptions & { dir: string }> {
  const dir = await tempDir("plan-");
  return { dir, manifests: MANIFESTS, out: path.join(dir, "out"), cache: path.join(dir, "cache"), base: "cloud", ...extra };
}

/** Publishes a record for kind/target as a bake of the same inputs would, with a qcow2 (qemu) that exists. */
async function publishBaked(o: PlanOptions, kind: "knd" | "knc", target: "qemu" | "aws", test: ImageTestRecord, withFile = true) {
  const [manifest] = await loadManifests(MANIFESTS, { kinds: [kind], arches: ["amd64"] });
  if (!manifest) throw new Error(`no ${kind} manifest`);
  const s: BakeSettings = { manifest, target, base: "cloud", outDir: o.out, cacheDir: o.cache };
  const identity = await resolveIdentity(s, await resolveBase(s));
  const qcow2 = path.join(o.out, "images", `${identity.name}.qcow2`);
  if (withFile && target === "qemu") {
    await mkdir(path.dirname(qcow2), { recursive: true });
    await writeFile(qcow2, "image");
  }
  const result = target === "qemu" ? { packerVersion: "1.6.6", qemu: { path: qcow2, digest: "sha256:x", size: 5 }, seconds: 1 } : { packerVersion: "1.6.6", amis: { "us-east-1": "ami-0abc" }, seconds: 1 };
  await publishImage(o.out, imageRecord(s, identity, result, 1, test));
  return identity;
}

describe("computePlan", () => {
  it("names every kind of the selection with the input hash a bake computes, and writes nothing", async () => {
    const o = await options();
    const plan = await computePlan({ arches: ["amd64"], targets: ["qemu", "aws"] }, o);
    expect(plan.entries.map((e) => `${e.kind} ${e.arch} ${e.target} ${e.action}`)).toEqual(["knd amd64 aws bake", "knd amd64 qemu bake", "knc amd64 aws bake", "knc amd64 qemu bake"]);
    for (const entry of plan.entries) {
      expect(entry.name).toMatch(new RegExp(`^podplane-${entry.kind}-debian-13-amd64-[0-9a-f]{12}$`));
      expect(entry.name?.endsWith(entry.inputHash?.slice(0, 12) ?? "?")).toBe(true);
      expect(entry.reason).toBe("not in images.json");
    }
    // qemu and aws start from different bases: different hashes for the same kind.
    expect(new Set(plan.entries.map((e) => e.inputHash)).size).toBe(4);
    // Nothing was written: no out dir, no cache dir.
    expect(await readdir(o.dir)).toEqual([]);

    // The bake's own identity (vmconfig packed to a file) gives the same name.
    const [manifest] = await loadManifests(MANIFESTS, { kinds: ["knc"], arches: ["amd64"] });
    if (!manifest) throw new Error("no knc manifest");
    const s: BakeSettings = { manifest, target: "qemu", base: "cloud", outDir: o.out, cacheDir: o.cache };
    const identity = await resolveIdentity(s, await resolveBase(s));
    expect(plan.entries.find((e) => e.kind === "knc" && e.target === "qemu")).toMatchObject({ name: identity.name, inputHash: identity.inputHash });
    expect(plan.inputs.vmconfigDigest).toBe(identity.vmconfig.digest);
  });

  it("decides skip, test or bake from images.json, --skip-test and --force", async () => {
    const o = await options();
    await publishBaked(o, "knd", "qemu", PASSED);
    await publishBaked(o, "knc", "qemu", untested("qemu", true));
    await publishBaked(o, "knd", "aws", untested("aws", false));
    const byKey = async (extra: Partial<PlanOptions>) =>
      Object.fromEntries((await computePlan({ arches: ["amd64"], targets: ["qemu", "aws"] }, { ...o, ...extra })).entries.map((e) => [`${e.kind} ${e.target}`, `${e.action}: ${e.reason}`]));

    expect(await byKey({})).toEqual({
      "knd qemu": "skip: built and boot-tested",
      "knc qemu": "test: built, never boot-tested",
      "knd aws": "skip: built (not boot-tested)",
      "knc aws": "bake: not in images.json",
    });
    expect((await byKey({ skipTest: true }))["knc qemu"]).toBe("skip: built (not boot-tested)");
    expect(Object.values(await byKey({ force: true }))).toEqual(["bake: --force", "bake: --force", "bake: --force", "bake: --force"]);
  });

  it("bakes again when the recorded qcow2 is gone, and boot-tests again after a failed test", async () => {
    const o = await options();
    const gone = await publishBaked(o, "knd", "qemu", PASSED, false);
    await publishBaked(o, "knc", "qemu", FAILED);
    const plan = await computePlan({ arches: ["amd64"], targets: ["qemu"] }, o);
    expect(plan.entries.map((e) => [e.kind, e.action, e.reason])).toEqual([
      ["knd", "bake", `in images.json, but ${path.join(o.out, "images", `${gone.name}.qcow2`)} is gone`],
      ["knc", "test", "built; its last boot test failed"],
    ]);
  });

  it("debootstrap: no name until the base is built; the cached base's digest once it is", async () => {
    const o = await options({ base: "debootstrap" });
    const pending = await computePlan({ kinds: ["knd"], arches: ["amd64"], targets: ["qemu"] }, o);
    expect(pending.entries).toMatchObject([{ kind: "knd", name: null, inputHash: null, action: "bake", reason: "its base is not built yet", base: { digest: null } }]);
    expect(planTable(pending)[1]).toContain("(after its base is built)");

    // A base in the cache as buildDebootstrapBase leaves it: the qcow2 and its record beside it.
    const digest = `sha256:${"b".repeat(64)}`;
    const image = await writeCachedBase(o.cache, "qcow2", digest);
    const ready = await computePlan({ kinds: ["knd"], arches: ["amd64"], targets: ["qemu"] }, o);
    expect(ready.entries[0]).toMatchObject({ action: "bake", base: { digest, path: image } });
    expect(ready.entries[0]?.name).toMatch(/^podplane-knd-debian-13-amd64-[0-9a-f]{12}$/);
    // A record whose size does not match its image is not trusted.
    await writeFile(`${image}.json`, JSON.stringify({ digest, size: 6 }));
    expect((await computePlan({ kinds: ["knd"], arches: ["amd64"], targets: ["qemu"] }, o)).entries[0]?.name).toBeNull();
  });

  it("refuses a named kind or arch without a manifest, naming it (exit 2)", async () => {
    const o = await options();
    const only = path.join(o.dir, "manifests");
    await mkdir(only);
    await copyFile(path.join(MANIFESTS, "knd.debian-13.amd64.json"), path.join(only, "knd.debian-13.amd64.json"));
    await expect(computePlan({ kinds: ["knd", "knc"], arches: ["amd64"], targets: ["qemu"] }, { ...o, manifests: only })).rejects.toThrow(`${only}: no manifest for knc amd64`);
    // With no kinds named, every kind that has a manifest.
    expect((await computePlan({ arches: ["amd64"], targets: ["qemu"] }, { ...o, manifests: only })).entries.map((e) => e.kind)).toEqual(["knd"]);
  });
});

describe("plan formats", () => {
  it("github: one include entry per image with kind, arch, target, name, hash, status; --changed-only drops the skips", async () => {
    const o = await options();
    const knd = await publishBaked(o, "knd", "qemu", PASSED);
    const plan = await computePlan({ arches: ["amd64"], targets: ["qemu"] }, o);
    const matrix = githubMatrix(plan);
    expect(matrix.include).toHaveLength(2);
    expect(matrix.include[0]).toEqual({ kind: "knd", arch: "amd64", target: "qemu", name: knd.name, hash: knd.inputHash, status: "skip" });
    expect(Object.keys(matrix.include[1] ?? {})).toEqual(["kind", "arch", "target", "name", "hash", "status"]);
    expect(matrix.include[1]).toMatchObject({ kind: "knc", status: "build" });
    expect(matrix.include[1]?.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(githubMatrix(plan, true).include.map((e) => e.kind)).toEqual(["knc"]);
    expect(planJson(plan, true).entries).toEqual([expect.objectContaining({ kind: "knc", action: "bake", status: "build" })]);
  });

  it("text: a table with a header and a row per entry", async () => {
    const o = await options();
    const plan = await computePlan({ arches: ["amd64"], targets: ["qemu"] }, o);
    const lines = planTable(plan);
    expect(lines[0]).toMatch(/^KIND\s+ARCH\s+TARGET\s+NAME\s+HASH\s+STATUS\s+WHY$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 3).join(" "))).toEqual(["knd amd64 qemu", "knc amd64 qemu"]);
    expect(planTable(plan, false)).toHaveLength(3);
  });
});
