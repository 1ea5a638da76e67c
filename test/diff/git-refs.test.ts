// `diff REF REF` and `diff REF:PATH DIR`: manifest sets read from a temp git repository with
// plain git (nothing checked out), how an argument is told to be a directory or a ref, and the
// exit 2 for a ref or a tree that is not there.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DiffReport } from "../../pipeline/diff/index.js";
import { parseSetSpec } from "../../pipeline/diff/manifest-set.js";
import { resetCliStateAfterEach } from "../helpers/cli.js";
import { tempDir } from "../helpers/temp-dir.js";
import { copyManifests, editRelease, runCli, section } from "./fixtures.js";

resetCliStateAfterEach();

async function git(repo: string, ...args: string[]): Promise<string> {
  const r = await execa("git", ["-C", repo, "-c", "user.name=diff test", "-c", "user.email=diff@test.invalid", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false", ...args]);
  return r.stdout;
}

/** A repository whose manifests/ is the repo's at tag v1 and the edited release at HEAD (branch main). */
async function repository(root: string): Promise<string> {
  const repo = path.join(root, "repo");
  await mkdir(repo);
  await git(repo, "init", "-q", "-b", "main");
  await copyManifests(path.join(repo, "manifests"));
  await writeFile(path.join(repo, "README"), "not a manifest\n");
  await git(repo, "add", "-A");
  await git(repo, "commit", "-q", "-m", "v1");
  await git(repo, "tag", "v1");
  await editRelease(path.join(repo, "manifests"));
  await git(repo, "commit", "-q", "-am", "release");
  return repo;
}

describe("diff between git refs", () => {
  // One repository for the suite (nothing here writes to it): git processes are the cost.
  let root = "";
  let repo = "";
  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), "diff-git-"));
    repo = await repository(root);
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it("REF REF reads manifests/ at each ref; the report equals the directory diff's", async () => {
    const result = await runCli("diff", "v1", "HEAD", "--repo", repo, "--json");
    expect(result.code, result.stderr).toBe(0);
    const doc = JSON.parse(result.stdout) as DiffReport;
    expect(doc.from).toEqual({ label: "v1:manifests", type: "git" });
    expect(doc.to).toEqual({ label: "HEAD:manifests", type: "git" });
    expect(doc.summary).toMatchObject({ groups: 4, groupsChanged: 2, componentsAdded: 1, componentsRemoved: 1, versionChanged: 1, digestChanged: 1 });
    expect(doc.groups[0]).toMatchObject({ kind: "knd", arch: "amd64", from: "v1:manifests/knd.debian-13.amd64.json", to: "HEAD:manifests/knd.debian-13.amd64.json" });

    const md = await runCli("diff", "v1", "main", "--repo", repo);
    expect(md.stdout.split("\n")[0]).toMatch(/^`v1:manifests` → `main:manifests`: 2 of 4 kind × arch changed: /);
    expect(section(md.stdout, "knd debian-13 amd64")).toContain("| runc | **digest only** |");
    // Reversed, the same change reads the other way round.
    const back = JSON.parse((await runCli("diff", "HEAD", "v1", "--repo", repo, "--json")).stdout) as DiffReport;
    expect(back.summary).toMatchObject({ componentsAdded: 1, componentsRemoved: 1 });
    expect(back.groups[0]?.components.removed.map((c) => c.name)).toEqual(["extra-tool"]);
  });

  it("REF:PATH against a directory (a branch against the working tree); same ref twice has no differences", async () => {
    const dir = path.join(repo, "manifests");
    const result = await runCli("diff", "v1:manifests", dir, "--repo", repo, "--json", "--exit-code");
    expect(result.code, result.stderr).toBe(1);
    const doc = JSON.parse(result.stdout) as DiffReport;
    expect([doc.from, doc.to]).toEqual([
      { label: "v1:manifests", type: "git" },
      { label: dir, type: "directory" },
    ]);
    const same = await runCli("diff", "HEAD:manifests/", dir, "--repo", repo, "--exit-code");
    expect(same.code, same.stderr).toBe(0);
    expect(same.stdout).toMatch(/^No differences between `HEAD:manifests` → /);
  });

  it("exit 2 naming it: an unknown ref, a ref without that directory, a tree with no manifests, no repository", async () => {
    let r = await runCli("diff", "v9.9.9", "HEAD", "--repo", repo);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`EDIFFSOURCE: v9.9.9: not a directory, and "v9.9.9" is not a git ref (commit, branch or tag) in ${repo}`);
    r = await runCli("diff", "v1:manifest", "HEAD", "--repo", repo);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`v1:manifest: v1 has no directory "manifest"`);
    r = await runCli("diff", "v1:", "HEAD", "--repo", repo);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("v1:: not a manifests directory (no <kind>.<os>.<arch>.json in v1:)");
    const plain = await tempDir("diff-nogit-");
    r = await runCli("diff", "v1", "HEAD", "--repo", plain, "--json");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`v1: not a directory, and ${plain} is not a git repository`);
    expect((JSON.parse(r.stdout) as { ok: boolean }).ok).toBe(false);
    r = await runCli("diff", "--", "--upload-pack=x", "HEAD", "--repo", repo);
    expect(r.code).toBe(2);
  });

  it("an argument is a directory when one exists by that name, a path when it looks like one, else a ref", async () => {
    const cwd = await tempDir("diff-spec-");
    await mkdir(path.join(cwd, "main"));
    expect(await parseSetSpec("main", cwd)).toEqual({ type: "directory", dir: path.join(cwd, "main") });
    expect(await parseSetSpec("main:manifests", cwd)).toEqual({ type: "git", ref: "main", path: "manifests" });
    expect(await parseSetSpec("v1.2.0", cwd)).toEqual({ type: "git", ref: "v1.2.0", path: "manifests" });
    expect(await parseSetSpec("origin/main:deploy/manifests/", cwd)).toEqual({ type: "git", ref: "origin/main", path: "deploy/manifests" });
    await expect(parseSetSpec("./manifests", cwd)).rejects.toThrow("./manifests: not a directory (a path is read as a manifests directory; a git ref is REF or REF:PATH)");
    await expect(parseSetSpec("../no-such-dir-for-diff", cwd)).rejects.toThrow("not a directory");
  });
});
