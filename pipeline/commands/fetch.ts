// `fetch`: bring every artifact of the selected manifests into the verified cache.
import { Listr } from "listr2";
import { Option, type Command } from "commander";
import { defaultCacheDir, defaultMirror, DEFAULT_MANIFESTS_DIR, parseArches, parseKinds, parsePositiveInt } from "../cli/options.js";
import { formatBytes, printJson, printLine } from "../cli/output.js";
import { DEFAULT_CONCURRENCY, fetchArtifacts, jobLabel, planFetch, planImageJobs, type FetchEvent, type FetchSummary } from "../fetch/index.js";
import { loadManifests, type Arch, type Kind, type Manifest } from "../manifest/index.js";
import { taskListOptions, TrackedTasks, usePlainProgress, withInterrupts } from "../progress/index.js";

export interface SelectionFlags {
  kind?: Kind[];
  arch?: Arch[];
  os?: string[];
  manifests: string;
}

export interface CacheFlags {
  cache: string;
  mirror?: string;
}

/** --kind/--arch/--os/--manifests, shared by fetch, verify, pin and mirror export. */
export function addSelectionOptions(command: Command): Command {
  return command
    .option("--kind <kinds>", "VM kinds, comma-separated: knd,knc (default: all)", parseKinds)
    .option("--arch <arches>", "architectures, comma-separated: amd64,arm64 (default: all)", parseArches)
    .option("--os <names>", "OS names, comma-separated (default: all, i.e. debian-13)", (v: string) => v.split(",").filter(Boolean))
    .option("--manifests <dir>", "directory of lock manifests", DEFAULT_MANIFESTS_DIR);
}

export function addCacheOption(command: Command): Command {
  return command.addOption(new Option("--cache <dir>", "content-addressed cache directory (env PODPLANE_IMAGES_CACHE)").default(defaultCacheDir()));
}

export function addMirrorOption(command: Command): Command {
  return command.addOption(
    new Option("--mirror <url|dir>", "fetch from a mirror laid out as <mirror>/<host>/<path> (env PODPLANE_IMAGES_MIRROR)").default(defaultMirror()),
  );
}

export function selectManifests(flags: SelectionFlags): Promise<Manifest[]> {
  return loadManifests(flags.manifests, { kinds: flags.kind, arches: flags.arch, os: flags.os });
}

export const EXIT_CODES_HELP = `
Exit codes: 0 success, 1 the work failed (one line per problem on stderr), 2 bad usage or bad input.`;

export interface FetchFlags extends SelectionFlags, CacheFlags {
  concurrency: number;
  baseImage?: boolean;
  /** Also fetch the manifests' container images (fetch: on unless --no-images; build: off until images are baked). */
  images?: boolean;
  json?: boolean;
}

function artifactJson(summary: FetchSummary) {
  return summary.artifacts.map((a) => ({
    name: a.name,
    version: a.version,
    kinds: a.kinds,
    arches: a.arches,
    url: a.url,
    digest: a.digest,
    size: a.size,
    cacheHit: a.cacheHit,
    downloaded: !a.cacheHit,
    seconds: a.seconds,
    path: a.path,
  }));
}

function imageJson(summary: FetchSummary) {
  return (summary.images ?? []).map((i) => ({
    image: i.image,
    platform: i.platform,
    kinds: i.kinds,
    arches: i.arches,
    index: i.index,
    digest: i.digest,
    size: i.size,
    blobs: i.blobs,
    cacheHit: i.cacheHit,
    downloaded: !i.cacheHit,
    bytesDownloaded: i.bytesDownloaded,
    seconds: i.seconds,
    path: i.path,
  }));
}

/** Runs fetchArtifacts under a task list: one task per artifact with its bytes, a parent with the total. */
export async function fetchWithProgress(manifests: readonly Manifest[], flags: FetchFlags, signal: AbortSignal): Promise<FetchSummary> {
  const jobs = [...planFetch(manifests, { includeBaseImage: flags.baseImage }), ...(flags.images ? planImageJobs(manifests).map((i) => i.job) : [])];
  const plain = usePlainProgress({ plain: Boolean(flags.json) });
  const board = new TrackedTasks(jobs.map((job) => ({ key: job.integrity, title: jobLabel(job) })));
  const total = jobs.reduce((sum, job) => sum + job.size, 0);
  const heading = `fetch ${jobs.length} artifacts (${formatBytes(total)})${flags.mirror ? ` from ${flags.mirror}` : ""}`;
  let parent: { title: string } | undefined;
  let downloaded = 0;
  const lastPaint = new Map<string, number>();
  const onEvent = (event: FetchEvent) => {
    const key = event.job.integrity;
    const label = jobLabel(event.job);
    switch (event.type) {
      case "bytes": {
        downloaded += event.delta;
        const now = performance.now();
        if (plain || now - (lastPaint.get(key) ?? 0) < 100) return; // repaint each task at most 10 times a second
        lastPaint.set(key, now);
        board.setOutput(key, `${formatBytes(event.received)} / ${formatBytes(event.job.size)}`);
        if (parent) parent.title = `${heading}: ${formatBytes(downloaded)} of ${formatBytes(total)} downloaded`;
        return;
      }
      case "evicted":
        return board.setOutput(key, `corrupt cache entry evicted (${event.reason}); fetching again`);
      case "retry":
        return board.setOutput(key, `retry ${event.retry}: ${event.error instanceof Error ? event.error.message : String(event.error)}`);
      case "done": {
        const a = event.artifact;
        return board.finish(key, `${label}: ${a.cacheHit ? "verified in cache" : `downloaded ${formatBytes(a.size)}, verified`} (${a.seconds.toFixed(2)} s)`);
      }
      case "failed":
        return board.fail(key, event.error instanceof Error ? event.error : new Error(String(event.error)));
      default:
        return;
    }
  };
  const list = new Listr(
    [
      {
        title: heading,
        task: (_ctx, task) => {
          parent = task;
          return task.newListr(board.tasks(), { concurrent: flags.concurrency, exitOnError: false });
        },
      },
    ],
    taskListOptions({ plain, exitOnError: false }),
  );
  const listDone = list.run().catch(() => undefined);
  try {
    const summary = await fetchArtifacts({
      manifests,
      cacheDir: flags.cache,
      mirror: flags.mirror,
      concurrency: flags.concurrency,
      includeBaseImage: flags.baseImage,
      images: flags.images,
      signal,
      onEvent,
    });
    if (parent) parent.title = `${heading}: ${formatBytes(summary.bytesDownloaded)} downloaded in ${summary.seconds.toFixed(2)} s`;
    return summary;
  } catch (error) {
    board.failRemaining(error instanceof Error ? error : new Error(String(error)));
    throw error;
  } finally {
    await listDone;
  }
}

export function register(program: Command): Command {
  const command = program
    .command("fetch")
    .description("Download every artifact the selected kinds/arches need into the verified, content-addressed cache")
    .addHelpText(
      "after",
      `
Every artifact is checked against the digest and size pinned in its lock manifest while it
streams; only verified bytes enter the cache. Identical digests are fetched once; a warm
cache makes no request (each entry is re-hashed instead). A mirror is trusted for nothing:
digests are checked the same way.

Container images (vmconfig.images) are fetched by digest with the OCI distribution API:
the index, the platform's manifest, its config and layer blobs, each verified and never read
beyond its pinned size (anonymous bearer tokens and redirects handled; a registry on
localhost/127.0.0.1 over plain HTTP). A mirror holds them at
<mirror>/<registry>/v2/<repository>/manifests|blobs/<digest>. --no-images skips them.

Environment:
  PODPLANE_IMAGES_CACHE   default for --cache (else ~/.cache/podplane-images)
  PODPLANE_IMAGES_MIRROR  default for --mirror
  CI                      plain one-line-per-event progress (also when stderr is not a TTY)
${EXIT_CODES_HELP}`,
    );
  addSelectionOptions(command);
  addMirrorOption(command);
  addCacheOption(command);
  return command
    .option("--concurrency <n>", "parallel downloads", parsePositiveInt, DEFAULT_CONCURRENCY)
    .option("--base-image", "also fetch each manifest's Debian base image (os.image)")
    .option("--no-images", "skip the container images (vmconfig.images) of the manifests")
    .option("--json", "print one JSON summary on stdout")
    .action(async (flags: FetchFlags) => {
      const manifests = await selectManifests(flags);
      const summary = await withInterrupts((signal) => fetchWithProgress(manifests, flags, signal));
      if (flags.json) {
        printJson({ ok: true, cacheDir: flags.cache, mirror: flags.mirror ?? null, bytesDownloaded: summary.bytesDownloaded, seconds: summary.seconds, artifacts: artifactJson(summary), images: imageJson(summary) });
        return;
      }
      const hits = summary.artifacts.filter((a) => a.cacheHit).length;
      const images = summary.images ?? [];
      const imageHits = images.filter((i) => i.cacheHit).length;
      const imagePart = images.length > 0 ? ` and ${images.length} images (${images.length - imageHits} downloaded; ${imageHits} verified in cache)` : "";
      printLine(
        `fetched ${summary.artifacts.length} artifacts (${summary.artifacts.length - hits} downloaded, ${formatBytes(summary.bytesDownloaded)}; ${hits} verified in cache)${imagePart} in ${summary.seconds.toFixed(2)} s into ${flags.cache}`,
      );
    });
}
