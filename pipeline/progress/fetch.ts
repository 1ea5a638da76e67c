// The fetch stage under a task list: one task per artifact with its bytes, a parent with the
// total. Shared by `fetch` and the build plan, so neither reaches into the other's command.
import { Listr } from "listr2";
import { formatBytes } from "../cli/output.js";
import { fetchArtifacts, jobLabel, planFetch, planImageJobs, type FetchEvent, type FetchSummary } from "../fetch/index.js";
import type { Manifest } from "../manifest/index.js";
import type { RegistryMirrors } from "../oci/index.js";
import { taskListOptions, usePlainProgress } from "./renderer.js";
import { TrackedTasks } from "./tracked.js";

export interface FetchProgressOptions {
  cache: string;
  mirror?: string | undefined;
  /** Container images only: registry → registry mirror. */
  registryMirrors?: RegistryMirrors | undefined;
  concurrency: number;
  /** Also fetch each manifest's Debian base image. */
  baseImage?: boolean | undefined;
  /** Also fetch each manifest's container images (vmconfig.images). */
  images?: boolean | undefined;
  /** Force plain progress lines (e.g. with --json). */
  plain?: boolean | undefined;
}

/** Runs fetchArtifacts under a task list on stderr; returns its summary. */
export async function fetchWithProgress(manifests: readonly Manifest[], options: FetchProgressOptions, signal: AbortSignal): Promise<FetchSummary> {
  const jobs = [...planFetch(manifests, { includeBaseImage: options.baseImage }), ...(options.images ? planImageJobs(manifests).map((i) => i.job) : [])];
  const plain = usePlainProgress({ plain: Boolean(options.plain) });
  const board = new TrackedTasks(jobs.map((job) => ({ key: job.integrity, title: jobLabel(job) })));
  const total = jobs.reduce((sum, job) => sum + job.size, 0);
  const registryMirrors = [...(options.registryMirrors ?? [])].map(([registry, url]) => `${registry} images from ${url}`);
  const heading = `fetch ${jobs.length} artifacts (${formatBytes(total)})${options.mirror ? ` from ${options.mirror}` : ""}${registryMirrors.length > 0 ? `; ${registryMirrors.join(", ")}` : ""}`;
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
          return task.newListr(board.tasks(), { concurrent: options.concurrency, exitOnError: false });
        },
      },
    ],
    taskListOptions({ plain, exitOnError: false }),
  );
  const listDone = list.run().catch(() => undefined);
  try {
    const summary = await fetchArtifacts({
      manifests,
      cacheDir: options.cache,
      mirror: options.mirror,
      registryMirrors: options.registryMirrors,
      concurrency: options.concurrency,
      includeBaseImage: options.baseImage,
      images: options.images,
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
