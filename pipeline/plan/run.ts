// Carries out a build plan: the debootstrap bases it still needs (once per arch), one fetch of
// the union of artifacts, then each entry (stage → Packer → boot test → publish, or only the
// boot test of an image baked with --skip-test) with at most `jobs` at a time. Each image is
// published as it finishes; a failed entry is recorded and the others go on. Progress goes to
// stderr as a task list; the caller renders the returned results.
import { rm, rmdir } from "node:fs/promises";
import path from "node:path";
import { Listr } from "listr2";
import type { ImageTestReport, TestImageOptions } from "../boot/index.js";
import { formatBytes } from "../cli/output.js";
import { eachLimit } from "../concurrency/each-limit.js";
import { withReleaseNotes } from "../diff/release-notes.js";
import { WorkError } from "../errors/index.js";
import type { FetchedArtifact, FetchSummary } from "../fetch/index.js";
import type { BaseChoice } from "../image/base-choice.js";
import { bakePaths, baseImagePath, imageRecord, resolveBase, resolveIdentity, runPackerBake, stageFor, untested, type BakeSettings, type Identity, type PackerResult } from "../image/bake.js";
import type { Manifest } from "../manifest/load.js";
import type { Arch } from "../manifest/schema.js";
import type { AwsSettings } from "../packer/index.js";
import type { RegistryMirrors } from "../oci/registry-mirrors.js";
import type { FetchProgressOptions } from "../progress/fetch.js";
import { taskListOptions, TrackedTasks, usePlainProgress } from "../progress/index.js";
import type { Signer } from "../provenance/keys.js";
import { recordProvenance } from "../provenance/write.js";
import { IMAGES_FILE, publishImage, readImagesFile, type ImageRecord, type ImageTestRecord } from "../publish/index.js";
import { entryLabel, planEntry, type BuildPlan, type PlanAction, type PlanEntry } from "./plan.js";

export type EntryOutcome = "built" | "tested" | "skipped" | "failed" | "cancelled";

export interface EntryResult {
  kind: PlanEntry["kind"];
  arch: PlanEntry["arch"];
  os: string;
  target: PlanEntry["target"];
  name: string | null;
  inputHash: string | null;
  /** What the plan meant to do (after any base was built). */
  action: PlanAction;
  result: EntryOutcome;
  seconds: number;
  /** Seconds per step: base, fetch, stage, packer, test. */
  steps: Record<string, number>;
  /** The bake log (bake), the boot test's serial log (test only), else null. */
  logPath: string | null;
  /** What images.json holds for the image after this run (absent when nothing was published). */
  record?: ImageRecord | undefined;
  error?: unknown;
}

export interface RunSummary {
  ok: boolean;
  seconds: number;
  imagesFile: string;
  results: EntryResult[];
}

export interface RunOptions {
  mirror?: string | undefined;
  /** Container images: registry → registry mirror (build --registry-mirror). */
  registryMirrors?: RegistryMirrors | undefined;
  /** Entries worked on at once. */
  jobs: number;
  allowUntested?: boolean | undefined;
  /** --json: stdout is for the result, progress is plain lines on stderr. */
  json: boolean;
  packerBin: string;
  /** Base URL of the published qcow2s (Podplane manifest's os.image.url); default file:/// paths. */
  publishUrl?: string | undefined;
  aws?: AwsSettings | undefined;
  /** Signs each image's provenance statement (build --signing-key); unsigned without. */
  signer?: Signer | undefined;
  signal: AbortSignal;
}

/** What a run may replace in tests: the boot test and the fetch. */
export interface RunDeps {
  testImage: (options: TestImageOptions) => Promise<ImageTestReport>;
  fetch: (manifests: readonly Manifest[], options: FetchProgressOptions, signal: AbortSignal) => Promise<FetchSummary>;
}

/** The real ones, loaded only when a run needs them (a no-op build loads neither). */
export const DEFAULT_RUN_DEPS: RunDeps = {
  testImage: async (options) => (await import("../boot/index.js")).testImage(options),
  fetch: async (manifests, options, signal) => (await import("../progress/fetch.js")).fetchWithProgress(manifests, options, signal),
};

const FETCH_CONCURRENCY = 8;

function errorOf(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** Boots the image; the result as images.json keeps it. A failed test is an ETEST error carrying that record. */
async function bootTest(deps: RunDeps, image: string, entry: PlanEntry, testDir: string, ctx: EntryContext, onProgress: (line: string) => void): Promise<ImageTestRecord> {
  // The manifest's own image pins: images-preloaded checks the image against them, not only against what it says it holds.
  const report = await deps.testImage({ image, kind: entry.kind, arch: entry.arch, images: entry.manifest.images, workDir: testDir, cacheDir: ctx.plan.options.cache, signal: ctx.options.signal, onProgress });
  const test: ImageTestRecord = {
    tested: true,
    ok: report.ok,
    at: new Date().toISOString(),
    checks: report.checks.map((c) => ({ name: c.name, ok: c.ok })),
    seconds: Math.round(report.seconds * 10) / 10,
    logPath: report.logPath,
  };
  if (!report.ok) {
    const failed = report.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.evidence}`);
    throw new WorkError("ETEST", `the boot test of ${image} failed:\n  ${failed.join("\n  ")}`, { image, failed, test }, { logPath: report.logPath });
  }
  return test;
}

/** The packed vmconfig and, when no other bake is using it, the scratch directory. */
async function removeScratch(outDir: string, identity: Identity): Promise<void> {
  await rm(identity.vmconfig.path, { force: true });
  for (const dir of [path.dirname(identity.vmconfig.path), path.join(outDir, ".work")]) await rmdir(dir).catch(() => undefined);
}

interface EntryContext {
  plan: BuildPlan;
  options: RunOptions & { plain: boolean };
  deps: RunDeps;
  fetched: FetchedArtifact[];
  /** Seconds spent on shared steps, charged to each entry that needed them. */
  shared: Record<string, number>;
  report: (text: string) => void;
}

class StepClock {
  readonly steps: Record<string, number> = {};
  async time<T>(step: string, work: () => Promise<T>): Promise<T> {
    const t = Date.now();
    try {
      return await work();
    } finally {
      this.steps[step] = (this.steps[step] ?? 0) + (Date.now() - t) / 1000;
    }
  }
}

function settingsFor(entry: PlanEntry, ctx: EntryContext): BakeSettings {
  const o = ctx.plan.options;
  return { manifest: entry.manifest, target: entry.target, base: o.base, outDir: o.out, cacheDir: o.cache, signal: ctx.options.signal, packerBin: ctx.options.packerBin, publishUrl: ctx.options.publishUrl, aws: ctx.options.aws };
}

/** An image baked with --skip-test: boot it now; its record says how the test went either way. */
async function testOnly(entry: PlanEntry, ctx: EntryContext, clock: StepClock): Promise<Pick<EntryResult, "result" | "record" | "logPath">> {
  const existing = entry.existing;
  if (!existing?.qemu) throw new WorkError("EPLAN", `${entry.name ?? entryLabel(entry)}: nothing recorded to boot-test`, {});
  const o = ctx.plan.options;
  const testDir = path.join(o.out, "logs", `${existing.name}.test`);
  let test: ImageTestRecord;
  try {
    test = await clock.time("test", () => bootTest(ctx.deps, existing.qemu?.path ?? "", entry, testDir, ctx, ctx.report));
  } catch (error) {
    const failed = error instanceof WorkError ? (error.data.test as ImageTestRecord | undefined) : undefined;
    // The image is published already: its record now says the test failed.
    if (failed) await publishImage(o.out, { ...existing, test: failed }, { allowUntested: ctx.options.allowUntested });
    throw error;
  }
  const record = { ...existing, test };
  await publishImage(o.out, record, { allowUntested: ctx.options.allowUntested });
  return { result: "tested", record, logPath: test.logPath ?? null };
}

/** stage → Packer → boot test → publish; no work directory survives, a failed boot test's logs do. */
async function bake(entry: PlanEntry, ctx: EntryContext, clock: StepClock): Promise<Pick<EntryResult, "result" | "record" | "logPath">> {
  const s = settingsFor(entry, ctx);
  const o = ctx.plan.options;
  const started = Date.now();
  const identity = await resolveIdentity(s, entry.base as BaseChoice, entry.name ?? `${entry.kind}-${entry.arch}-${entry.target}`);
  const paths = bakePaths(o.out, identity.name);
  let result!: PackerResult;
  let test: ImageTestRecord = untested(entry.target, o.skipTest === true);
  try {
    // The plan named the image from digests read earlier; a tree edited since must not bake under that name.
    if (identity.name !== entry.name) {
      throw new WorkError("EINPUTCHANGED", `the inputs of ${entry.name ?? entryLabel(entry)} changed while the build ran (now ${identity.name}); run the build again`, { planned: entry.name, now: identity.name });
    }
    const stage = await clock.time("stage", () => stageFor(s, identity, ctx.fetched));
    ctx.report(`staged ${stage.artifacts.length} artifacts (${formatBytes(stage.bytes)}) + vmconfig`);
    result = await clock.time("packer", () => runPackerBake(s, identity, stage, baseImagePath(s, identity, ctx.fetched), (progress) => ctx.report(`packer: ${progress.text.split("\n")[0] ?? ""}`)));
    ctx.report(`packer build: ${result.qemu ? formatBytes(result.qemu.size) : Object.entries(result.amis ?? {}).map(([r, a]) => `${r}:${a}`).join(", ")} in ${result.seconds.toFixed(0)} s${result.accelerator ? ` (${result.accelerator})` : ""}`);
    if (entry.target === "qemu" && !o.skipTest) {
      // Beside the bake log, not in the work dir: a failed test's serial log and report must outlive the cleanup below.
      const testDir = path.join(path.dirname(paths.logPath), `${identity.name}.test`);
      try {
        test = await clock.time("test", () => bootTest(ctx.deps, result.qemu?.path ?? "", entry, testDir, ctx, (line) => ctx.report(`boot test: ${line}`)));
      } catch (error) {
        if (error instanceof WorkError && error.code === "ETEST") throw new WorkError("ETEST", `${error.message}\n(the image is kept, not published)`, error.data, { logPath: error.logPath });
        throw error;
      }
    }
  } finally {
    await rm(paths.workDir, { recursive: true, force: true });
    await removeScratch(o.out, identity);
  }
  const seconds = (Date.now() - started) / 1000 + (ctx.shared.base ?? 0) + (ctx.shared.fetch ?? 0);
  // The provenance statement beside the image; the record says where it is and whether it is signed.
  const proven = await recordProvenance({ settings: s, identity, result, record: imageRecord(s, identity, result, seconds, test), startedOn: new Date(started), signer: ctx.options.signer, skipTest: o.skipTest });
  // Release notes are written against images.json as it is before this record replaces anything in it.
  const record = await withReleaseNotes(o.out, proven, entry.manifest);
  await publishImage(o.out, record, { allowUntested: ctx.options.allowUntested });
  return { result: "built", record, logPath: paths.logPath };
}

function resultOf(entry: PlanEntry, fields: Partial<EntryResult> & Pick<EntryResult, "result">): EntryResult {
  return {
    kind: entry.kind,
    arch: entry.arch,
    os: entry.os,
    target: entry.target,
    name: entry.name,
    inputHash: entry.inputHash,
    action: entry.action,
    seconds: 0,
    steps: {},
    logPath: null,
    ...fields,
  };
}

function logPathOf(error: unknown): string | null {
  return error instanceof WorkError && error.logPath ? error.logPath : null;
}

/** Builds the debootstrap base of each arch that still lacks one, then re-plans those entries. */
async function resolvePendingBases(plan: BuildPlan, options: RunOptions & { plain: boolean }, failures: Map<PlanEntry, EntryResult>, shared: Map<PlanEntry, Record<string, number>>): Promise<PlanEntry[]> {
  const pending = plan.entries.filter((e) => e.base.digest === null);
  if (pending.length === 0) return plan.entries;
  const arches = [...new Set(pending.map((e) => e.arch))];
  const bases = new Map<Arch, { base?: BaseChoice; error?: unknown; seconds: number }>();
  const board = new TrackedTasks(arches.map((arch) => ({ key: arch, title: `base image (debootstrap ${arch})` })));
  const list = new Listr(board.tasks(), taskListOptions({ plain: options.plain, exitOnError: false })).run().catch(() => undefined);
  for (const arch of arches) {
    const t = Date.now();
    const sample = pending.find((e) => e.arch === arch) as PlanEntry;
    try {
      const s: BakeSettings = { manifest: sample.manifest, target: "qemu", base: "debootstrap", outDir: plan.options.out, cacheDir: plan.options.cache, signal: options.signal };
      const base = await resolveBase(s, (line) => board.setOutput(arch, line));
      bases.set(arch, { base, seconds: (Date.now() - t) / 1000 });
      board.finish(arch, `base image: ${base.source}${base.cacheHit === true ? " (cached)" : " (built)"}`);
    } catch (error) {
      bases.set(arch, { error, seconds: (Date.now() - t) / 1000 });
      board.fail(arch, errorOf(error));
    }
  }
  await list;
  // The names are known now; images.json may have some of them already.
  const images = await readImagesFile(path.join(plan.options.out, IMAGES_FILE));
  const entries: PlanEntry[] = [];
  for (const entry of plan.entries) {
    const built = entry.base.digest === null ? bases.get(entry.arch) : undefined;
    if (!built) {
      entries.push(entry);
      continue;
    }
    if (built.base) {
      const next = await planEntry(entry.manifest, entry.target, built.base, plan.inputs, images, plan.options);
      shared.set(next, { base: built.seconds });
      entries.push(next);
    } else {
      failures.set(entry, resultOf(entry, { result: "failed", seconds: built.seconds, steps: { base: built.seconds }, error: built.error, logPath: logPathOf(built.error) }));
      entries.push(entry);
    }
  }
  return entries;
}

/** Runs `work` over `items`, at most `jobs` at a time, in order; stops taking new ones once `signal` aborts. */
async function pool<T>(items: readonly T[], jobs: number, signal: AbortSignal, work: (item: T) => Promise<void>, cancelled: (item: T) => void): Promise<void> {
  await eachLimit(items, jobs, async (item) => {
    if (signal.aborted) cancelled(item);
    else await work(item);
  });
}

export async function executePlan(plan: BuildPlan, runOptions: RunOptions, deps: RunDeps = DEFAULT_RUN_DEPS): Promise<RunSummary> {
  const started = Date.now();
  const options = { ...runOptions, plain: usePlainProgress({ plain: runOptions.json }) };
  const imagesFile = path.join(plan.options.out, IMAGES_FILE);
  const failures = new Map<PlanEntry, EntryResult>();
  const sharedSteps = new Map<PlanEntry, Record<string, number>>();
  const entries = await resolvePendingBases(plan, options, failures, sharedSteps);
  const results = new Map<PlanEntry, EntryResult>();
  for (const entry of entries) {
    const failed = failures.get(entry);
    if (failed) results.set(entry, failed);
    else if (entry.action === "skip") results.set(entry, resultOf(entry, { result: "skipped", record: entry.existing }));
  }

  // One fetch for every entry that bakes: artifacts shared between kinds are fetched once.
  const bakes = entries.filter((e) => e.action === "bake" && !results.has(e));
  let fetched: FetchedArtifact[] = [];
  let fetchSeconds = 0;
  if (bakes.length > 0) {
    const manifests = [...new Set(bakes.map((e) => e.manifest))];
    const t = Date.now();
    try {
      const summary = await deps.fetch(
        manifests,
        { cache: plan.options.cache, mirror: options.mirror, registryMirrors: options.registryMirrors, concurrency: FETCH_CONCURRENCY, baseImage: bakes.some((e) => e.target === "qemu" && plan.options.base === "cloud"), images: true, plain: options.plain },
        options.signal,
      );
      fetched = summary.artifacts;
      fetchSeconds = (Date.now() - t) / 1000;
    } catch (error) {
      fetchSeconds = (Date.now() - t) / 1000;
      for (const entry of bakes) results.set(entry, resultOf(entry, { result: "failed", seconds: fetchSeconds, steps: { fetch: fetchSeconds }, error }));
    }
  }

  const work = entries.filter((e) => !results.has(e));
  if (work.length > 0) {
    const keyOf = (entry: PlanEntry) => String(entries.indexOf(entry));
    const board = new TrackedTasks(work.map((entry) => ({ key: keyOf(entry), title: `${entry.action === "test" ? "boot test" : "bake"} ${entry.name ?? entryLabel(entry)} (${entry.target})` })));
    const list = new Listr(board.tasks(), taskListOptions({ plain: options.plain, exitOnError: false, concurrent: options.jobs })).run().catch(() => undefined);
    await pool(
      work,
      options.jobs,
      options.signal,
      async (entry) => {
        const key = keyOf(entry);
        const clock = new StepClock();
        const shared: Record<string, number> = { ...(sharedSteps.get(entry) ?? {}), ...(entry.action === "bake" ? { fetch: fetchSeconds } : {}) };
        const t = Date.now();
        const ctx: EntryContext = { plan: { ...plan, entries }, options, deps, fetched, shared, report: (text) => board.setOutput(key, text) };
        try {
          const done = entry.action === "test" ? await testOnly(entry, ctx, clock) : await bake(entry, ctx, clock);
          const seconds = (Date.now() - t) / 1000 + (shared.base ?? 0) + (shared.fetch ?? 0);
          results.set(entry, resultOf(entry, { ...done, seconds, steps: { ...shared, ...clock.steps } }));
          board.finish(key, `${entry.name ?? entryLabel(entry)}: ${done.result} in ${seconds.toFixed(0)} s`);
        } catch (error) {
          const seconds = (Date.now() - t) / 1000 + (shared.base ?? 0) + (shared.fetch ?? 0);
          results.set(entry, resultOf(entry, { result: "failed", seconds, steps: { ...shared, ...clock.steps }, error, logPath: logPathOf(error) }));
          board.fail(key, errorOf(error));
        }
      },
      (entry) => {
        results.set(entry, resultOf(entry, { result: "cancelled", error: options.signal.reason }));
        board.fail(keyOf(entry), errorOf(options.signal.reason));
      },
    );
    await list;
  }

  const ordered = entries.map((entry) => results.get(entry) as EntryResult);
  return { ok: ordered.every((r) => r.result !== "failed" && r.result !== "cancelled"), seconds: (Date.now() - started) / 1000, imagesFile, results: ordered };
}
