// `diff DIR DIR`: two manifest sets made from manifests/ with a release's edits. The Markdown is
// checked for what a reviewer reads (the summary first, a section per changed kind × arch, the
// digest-only call-outs); --json for its shape; the exit codes with and without --exit-code.
import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { DiffReport } from "../../pipeline/diff/index.js";
import { DEFAULT_MANIFESTS_DIR } from "../../pipeline/cli/options.js";
import { resetCliStateAfterEach } from "../helpers/cli.js";
import { tempDir } from "../helpers/temp-dir.js";
import { EXTRA_DIGEST, KUBELET_NEW, PAUSE_KND_NEW, RUNC_NEW, copyManifests, editRelease, runCli, section } from "./fixtures.js";

resetCliStateAfterEach();

async function sets(): Promise<{ a: string; b: string }> {
  const dir = await tempDir("diff-sets-");
  const a = await copyManifests(path.join(dir, "a"));
  const b = await copyManifests(path.join(dir, "b"));
  await editRelease(b);
  return { a, b };
}

describe("diff between two manifest directories", () => {
  it("reports per kind × arch: added, removed, version and digest-only changes, container images, base image; Markdown", async () => {
    const { a, b } = await sets();
    const result = await runCli("diff", a, b);
    expect(result.code, result.stderr).toBe(0);
    const md = result.stdout;
    const [first] = md.split("\n");
    expect(first).toBe(`\`${a}\` → \`${b}\`: 2 of 4 kind × arch changed: 1 added, 1 removed, 1 version change, 1 digest change with the same version, 2 container image changes, 1 base image change.`);

    // Sections in knd, knc order; the unchanged arm64 pair named once at the end.
    expect(md.match(/^## .*$/gm)).toEqual(["## knd debian-13 amd64", "## knc debian-13 amd64"]);
    expect(md.trimEnd().split("\n").at(-1)).toBe("Unchanged: knd debian-13 arm64, knc debian-13 arm64.");

    const knd = section(md, "knd debian-13 amd64");
    expect(knd).toContain(`\`${path.join(a, "knd.debian-13.amd64.json")}\` → \`${path.join(b, "knd.debian-13.amd64.json")}\``);
    expect(knd).toContain("| extra-tool | added |  | 0.1.0 (`sha256:444444444444`) |");
    expect(knd).toContain("| kubelet | version | 1.36.1 (`sha256:7efa1780c73d`) | 1.36.2 (`sha256:111111111111`) |");
    expect(knd).toContain("| runc | **digest only** | 1.4.2 (`sha256:ac8a90f9e225`) | 1.4.2 (`sha256:222222222222`) |");
    expect(knd).toMatch(/^> \*\*Same version, new digest\*\* \(component\): \*\*runc\*\* 1\.4\.2\. /m);
    expect(knd).toMatch(/^> \*\*Same version, new digest\*\* \(container image\): \*\*registry\.k8s\.io\/pause\*\* 3\.10\.2\. /m);
    expect(knd).toContain("| registry.k8s.io/pause | **digest only** | 3.10.2 (`sha256:412c4a7219cb`) | 3.10.2 (`sha256:666666666666`) |");
    // Same URL on both sides (only the pin moved): the line shows versions and digests.
    expect(knd).toContain("Base image: 20260512-2476 (`sha512:902ea07fa232`) → 20260601-2500 (`sha512:555555555555`)\n");
    // Rows in a fixed order: added, removed, version, digest only.
    expect(knd.indexOf("| extra-tool |")).toBeLessThan(knd.indexOf("| kubelet |"));
    expect(knd.indexOf("| kubelet |")).toBeLessThan(knd.indexOf("| runc |"));
    expect(knd).not.toMatch(/containerd|vmconfig:/);

    const knc = section(md, "knc debian-13 amd64");
    expect(knc).toContain("| netsy | removed | 1.1.0 (`sha512:e0e652b56531`) |  |");
    expect(knc).toContain("| registry.k8s.io/pause | version | 3.10.2 (`sha256:412c4a7219cb`) | 3.10.3 (`sha256:333333333333`) |");
    expect(knc).not.toContain("Same version, new digest");
    expect(knc).not.toContain("Base image:");
  });

  it("--json: the same report with full digests, in a fixed shape", async () => {
    const { a, b } = await sets();
    const result = await runCli("diff", a, b, "--json");
    expect(result.code, result.stderr).toBe(0);
    const doc = JSON.parse(result.stdout) as DiffReport & { ok: boolean };
    expect(doc.ok).toBe(true);
    expect(doc.changed).toBe(true);
    expect(doc.from).toEqual({ label: a, type: "directory" });
    expect(doc.to).toEqual({ label: b, type: "directory" });
    expect(doc.summary).toEqual({ groups: 4, groupsChanged: 2, componentsAdded: 1, componentsRemoved: 1, versionChanged: 1, digestChanged: 1, containerImagesChanged: 2, baseImagesChanged: 1, vmconfigChanged: 0 });
    expect(doc.groups.map((g) => [g.kind, g.os, g.arch, g.status])).toEqual([
      ["knd", "debian-13", "amd64", "changed"],
      ["knd", "debian-13", "arm64", "unchanged"],
      ["knc", "debian-13", "amd64", "changed"],
      ["knc", "debian-13", "arm64", "unchanged"],
    ]);
    const knd = doc.groups[0];
    expect(knd?.components).toEqual({
      added: [{ name: "extra-tool", version: "0.1.0", digest: EXTRA_DIGEST }],
      removed: [],
      versionChanged: [{ name: "kubelet", from: { name: "kubelet", version: "1.36.1", digest: expect.stringMatching(/^sha256:7efa1780c73d[0-9a-f]{52}$/) as string }, to: { name: "kubelet", version: "1.36.2", digest: KUBELET_NEW } }],
      digestChanged: [{ name: "runc", from: { name: "runc", version: "1.4.2", digest: expect.stringMatching(/^sha256:ac8a90f9e225/) as string }, to: { name: "runc", version: "1.4.2", digest: RUNC_NEW } }],
    });
    expect(knd?.containerImages.compared).toBe(true);
    expect(knd?.containerImages.digestChanged.map((c) => [c.name, c.to.version, c.to.digest])).toEqual([["registry.k8s.io/pause", "3.10.2", PAUSE_KND_NEW]]);
    expect(knd?.baseImage?.to).toMatchObject({ version: "20260601-2500" });
    expect(knd?.vmconfig).toBeNull();
    expect(doc.groups[1]?.components).toEqual({ added: [], removed: [], versionChanged: [], digestChanged: [] });
    expect(doc.groups[1]?.baseImage).toBeNull();
  });

  it("exit codes: 0 with or without differences; --exit-code makes differences exit 1 and none 0", async () => {
    const { a, b } = await sets();
    expect((await runCli("diff", a, b)).code).toBe(0);
    expect((await runCli("diff", a, b, "--exit-code")).code).toBe(1);
    const json = await runCli("diff", a, b, "--exit-code", "--json");
    expect(json.code).toBe(1);
    expect((JSON.parse(json.stdout) as DiffReport).changed).toBe(true);
    const same = await runCli("diff", a, DEFAULT_MANIFESTS_DIR, "--exit-code");
    expect(same.code, same.stderr).toBe(0);
    expect(same.stdout).toBe(`No differences between \`${a}\` → \`${DEFAULT_MANIFESTS_DIR}\` (4 kind × arch compared).\n`);
  });

  it("a manifest on one side only is listed whole; --kind/--arch narrow both sides", async () => {
    const dir = await tempDir("diff-sets-");
    const a = await copyManifests(path.join(dir, "a"));
    const b = await copyManifests(path.join(dir, "b"));
    await rm(path.join(a, "knc.debian-13.arm64.json"));
    await rm(path.join(b, "knd.debian-13.arm64.json"));
    const result = await runCli("diff", a, b, "--arch", "arm64", "--json");
    expect(result.code, result.stderr).toBe(0);
    const doc = JSON.parse(result.stdout) as DiffReport;
    expect(doc.groups.map((g) => [g.kind, g.arch, g.status, g.from === null, g.to === null])).toEqual([
      ["knd", "arm64", "removed", false, true],
      ["knc", "arm64", "added", true, false],
    ]);
    expect(doc.groups[1]?.components.added.map((c) => c.name)).toContain("kube-apiserver");
    const md = (await runCli("diff", a, b, "--arch", "arm64")).stdout;
    const knc = section(md, "knc debian-13 arm64");
    expect(knc).toContain("Only in the new set. It holds:");
    expect(knc).toContain("| kube-apiserver | 1.36.1 | `sha256:");
    expect(knc).toContain("| kube2iam | 0.11.2 | `unpinned` |");
    expect(knc).toContain("| registry.k8s.io/pause | 3.10.2 | `sha256:");
    expect(section(md, "knd debian-13 arm64")).toContain("Only in the old set (gone from the new one). It held:");
    const only = JSON.parse((await runCli("diff", a, b, "--kind", "knd", "--arch", "amd64", "--json")).stdout) as DiffReport;
    expect(only.groups.map((g) => `${g.kind}/${g.arch}`)).toEqual(["knd/amd64"]);
  });

  it("exit 2 naming the input: a directory without manifests, a path that does not exist, an invalid manifest", async () => {
    const dir = await tempDir("diff-bad-");
    const empty = path.join(dir, "empty");
    await mkdir(empty);
    let r = await runCli("diff", empty, DEFAULT_MANIFESTS_DIR);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`EDIFFSOURCE: ${empty}: not a manifests directory`);
    r = await runCli("diff", DEFAULT_MANIFESTS_DIR, path.join(dir, "missing"));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${path.join(dir, "missing")}: not a directory`);
    const bad = await copyManifests(path.join(dir, "bad"));
    await writeFile(path.join(bad, "knd.debian-13.amd64.json"), "{ not json");
    r = await runCli("diff", bad, DEFAULT_MANIFESTS_DIR, "--json");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${path.join(bad, "knd.debian-13.amd64.json")}: (root): expected valid JSON`);
    expect((JSON.parse(r.stdout) as { ok: boolean; error: { code: string } }).error.code).toBe("EMANIFEST");
    r = await runCli("diff", DEFAULT_MANIFESTS_DIR, DEFAULT_MANIFESTS_DIR, "--target", "qemu");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--target applies to images");
  });
});
