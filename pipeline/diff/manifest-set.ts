// A side of `diff A B` given as a manifest set: a directory of lock manifests, or a tree in git.
// How an argument is read (documented in the command's help):
//   1. it names an existing directory           → that directory;
//   2. it starts with / ./ ../ or ~ (a path)    → a directory that must exist (exit 2 otherwise);
//   3. REF:PATH                                 → the tree PATH (from the repository's top) at REF;
//   4. anything else                            → a git ref, read as REF:manifests.
// Git is asked with plain `git` commands in --repo (default: the current directory); nothing is
// checked out, so the working tree is never touched.
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { UsageError } from "../errors/index.js";
import { parseManifest, type Manifest } from "../manifest/load.js";
import type { Arch, Kind } from "../manifest/schema.js";
import type { DiffSide } from "./compare.js";

export const DEFAULT_MANIFESTS_PATH = "manifests";

export interface ManifestSetSelection {
  kinds?: readonly Kind[] | undefined;
  arches?: readonly Arch[] | undefined;
}

export interface ManifestSet {
  side: DiffSide;
  manifests: Manifest[];
}

export type SetSpec = { type: "directory"; dir: string } | { type: "git"; ref: string; path: string };

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** Which of the four forms `arg` is (see the top of this file). */
export async function parseSetSpec(arg: string, cwd: string = process.cwd()): Promise<SetSpec> {
  if (arg === "") throw new UsageError(`"": expected a manifests directory or a git ref`, "EDIFFSOURCE");
  const resolved = path.resolve(cwd, arg);
  if (await isDirectory(resolved)) return { type: "directory", dir: resolved };
  if (/^(\/|\.\.?(\/|$)|~)/.test(arg)) throw new UsageError(`${arg}: not a directory (a path is read as a manifests directory; a git ref is REF or REF:PATH)`, "EDIFFSOURCE");
  // Never an option to git, whatever it holds.
  if (arg.startsWith("-")) throw new UsageError(`${arg}: expected a manifests directory or a git ref, found an option`, "EDIFFSOURCE");
  const colon = arg.indexOf(":");
  if (colon > 0) {
    const tree = arg.slice(colon + 1).replace(/^\/+|\/+$/g, "");
    return { type: "git", ref: arg.slice(0, colon), path: tree };
  }
  return { type: "git", ref: arg, path: DEFAULT_MANIFESTS_PATH };
}

const MANIFEST_FILE = /^(knd|knc)\.[a-z]+-\d+\.(amd64|arm64)\.json$/;

function selected(name: string, selection: ManifestSetSelection): boolean {
  const match = MANIFEST_FILE.exec(name);
  // A badly named .json file is kept: parseManifest reports it.
  if (!match) return true;
  const [, kind, arch] = match;
  return (!selection.kinds || selection.kinds.includes(kind as Kind)) && (!selection.arches || selection.arches.includes(arch as Arch));
}

/** Every manifest of the set, all problems reported together (exit 2), as `loadManifests` does. */
function parseAll(label: string, files: ReadonlyArray<{ name: string; label: string; text: string }>): Manifest[] {
  const manifests: Manifest[] = [];
  const problems: string[] = [];
  for (const f of files) {
    const { manifest, problems: found } = parseManifest(f.label, f.text);
    if (manifest) manifests.push(manifest);
    problems.push(...found);
  }
  if (problems.length > 0) throw new UsageError(`${label}: not a valid manifests set:\n  ${problems.join("\n  ")}`, "EMANIFEST");
  return manifests;
}

async function readDirectorySet(arg: string, dir: string, selection: ManifestSetSelection): Promise<ManifestSet> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith(".json")).sort();
  } catch (error) {
    throw new UsageError(`${arg}: cannot read the directory (${(error as NodeJS.ErrnoException).code ?? String(error)})`, "EDIFFSOURCE", { cause: error });
  }
  if (names.length === 0) throw new UsageError(`${arg}: not a manifests directory (no <kind>.<os>.<arch>.json in ${dir})`, "EDIFFSOURCE");
  const files = [];
  for (const name of names.filter((n) => selected(n, selection))) {
    files.push({ name, label: path.join(arg, name), text: await readFile(path.join(dir, name), "utf8") });
  }
  return { side: { label: arg, type: "directory" }, manifests: parseAll(arg, files) };
}

async function git(repo: string, args: readonly string[], input?: string): Promise<{ ok: boolean; stdout: Buffer; stderr: string }> {
  const result = await execa("git", ["-C", repo, ...args], { reject: false, encoding: "buffer", stripFinalNewline: false, env: { GIT_TERMINAL_PROMPT: "0" }, ...(input === undefined ? {} : { input }) });
  return { ok: result.exitCode === 0, stdout: Buffer.from(result.stdout), stderr: Buffer.from(result.stderr).toString("utf8").trim() };
}

/** `git cat-file --batch` output: per object `<oid> blob <size>\n<bytes>\n`, in the order asked. */
function splitBatch(out: Buffer, names: readonly string[], label: string): string[] {
  const texts: string[] = [];
  let at = 0;
  for (const name of names) {
    const eol = out.indexOf(10, at);
    const header = out.subarray(at, eol).toString("utf8");
    const match = /^[0-9a-f]+ blob (\d+)$/.exec(header);
    if (eol < 0 || !match) throw new UsageError(`${label}/${name}: cannot read it from git (${header || "no answer"})`, "EDIFFSOURCE");
    const size = Number(match[1]);
    texts.push(out.subarray(eol + 1, eol + 1 + size).toString("utf8"));
    at = eol + 1 + size + 1;
  }
  return texts;
}

async function readGitSet(arg: string, ref: string, tree: string, repo: string, selection: ManifestSetSelection): Promise<ManifestSet> {
  const label = `${ref}:${tree}`;
  // Three git processes on the happy path; the error path asks more to say what is wrong.
  const commit = await git(repo, ["rev-parse", "--verify", "--quiet", "--end-of-options", `${ref}^{commit}`]);
  if (!commit.ok) {
    const inRepo = await git(repo, ["rev-parse", "--git-dir"]);
    if (!inRepo.ok) throw new UsageError(`${arg}: not a directory, and ${repo} is not a git repository to read it as a ref from (--repo)`, "EDIFFSOURCE");
    throw new UsageError(`${arg}: not a directory, and ${JSON.stringify(ref)} is not a git ref (commit, branch or tag) in ${repo}`, "EDIFFSOURCE");
  }
  const listing = await git(repo, ["ls-tree", "-z", "--name-only", "--end-of-options", label]);
  if (!listing.ok) throw new UsageError(`${arg}: ${ref} has no directory ${JSON.stringify(tree || "/")} (expected the manifests directory, e.g. ${ref}:${DEFAULT_MANIFESTS_PATH})`, "EDIFFSOURCE");
  const names = listing.stdout.toString("utf8").split("\0").filter((n) => n.endsWith(".json")).sort();
  if (names.length === 0) throw new UsageError(`${arg}: not a manifests directory (no <kind>.<os>.<arch>.json in ${label})`, "EDIFFSOURCE");
  const wanted = names.filter((n) => selected(n, selection));
  const blobPath = (name: string) => (tree ? `${ref}:${tree}/${name}` : `${ref}:${name}`);
  const batch = await git(repo, ["cat-file", "--batch"], wanted.map((n) => `${blobPath(n)}\n`).join(""));
  if (!batch.ok) throw new UsageError(`${arg}: cannot read ${label}: ${batch.stderr}`, "EDIFFSOURCE");
  const texts = splitBatch(batch.stdout, wanted, label);
  const files = wanted.map((name, i) => ({ name, label: blobPath(name), text: texts[i] ?? "" }));
  return { side: { label, type: "git" }, manifests: parseAll(label, files) };
}

/** Reads one side; every unreadable or invalid input is a UsageError (exit 2) naming `arg`. */
export async function readManifestSet(arg: string, options: { repo?: string; cwd?: string; selection?: ManifestSetSelection } = {}): Promise<ManifestSet> {
  const cwd = options.cwd ?? process.cwd();
  const spec = await parseSetSpec(arg, cwd);
  const selection = options.selection ?? {};
  if (spec.type === "directory") return readDirectorySet(arg, spec.dir, selection);
  return readGitSet(arg, spec.ref, spec.path, path.resolve(cwd, options.repo ?? "."), selection);
}
