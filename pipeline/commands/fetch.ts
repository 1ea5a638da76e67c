// `fetch`: bring every artifact of the selected manifests into the verified cache.
import path from "node:path";
import { Option, type Command } from "commander";
import { defaultCacheDir, defaultMirror, DEFAULT_MANIFESTS_DIR, parseArches, parseKinds, parsePositiveInt } from "../cli/options.js";
import { formatBytes, printJson, printLine } from "../cli/output.js";
// types.js, not the stage: commands that only borrow the option helpers must not load the downloader.
import { DEFAULT_CONCURRENCY, type FetchSummary } from "../fetch/types.js";
import { loadManifests, type Arch, type Kind, type Manifest } from "../manifest/index.js";
import { addRegistryMirrors, registryMirrorsJson, type RegistryMirrors } from "../oci/registry-mirrors.js";
import { withInterrupts } from "../progress/signals.js";

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

export interface RegistryMirrorFlags {
  /** --registry-mirror: registry → registry mirror base URL. */
  registryMirror?: RegistryMirrors;
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
  // Absolute from here on: Packer resolves a relative base image path against its own directory.
  return command.addOption(new Option("--cache <dir>", "content-addressed cache directory (env PODPLANE_IMAGES_CACHE)").default(defaultCacheDir()).argParser((dir) => path.resolve(dir)));
}

export function addMirrorOption(command: Command): Command {
  return command.addOption(
    new Option("--mirror <url|dir>", "fetch from a mirror laid out as <mirror>/<host>/<path> (env PODPLANE_IMAGES_MIRROR)").default(defaultMirror()),
  );
}

/** --registry-mirror REGISTRY=URL (repeatable, or comma-separated): where the commands that read images take them from. */
export function addRegistryMirrorOption(command: Command): Command {
  return command.option(
    "--registry-mirror <registry=url>",
    "read images of REGISTRY from the registry at URL (its /v2/<repository>/... API, same repository names; a local registry or pull-through cache), ahead of --mirror; repeatable or comma-separated; http:// only for a loopback host",
    addRegistryMirrors,
  );
}

export function selectManifests(flags: SelectionFlags): Promise<Manifest[]> {
  return loadManifests(flags.manifests, { kinds: flags.kind, arches: flags.arch, os: flags.os });
}

export const EXIT_CODES_HELP = `
Exit codes: 0 success, 1 the work failed (one line per problem on stderr), 2 bad usage or bad input.`;

export interface FetchFlags extends SelectionFlags, CacheFlags, RegistryMirrorFlags {
  concurrency: number;
  baseImage?: boolean;
  /** Also fetch the manifests' container images (on unless --no-images; build always fetches them, to bake them in). */
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
--registry-mirror registry.k8s.io=http://127.0.0.1:5000 reads registry.k8s.io's images from
that registry instead (as a containerd hosts.toml mirror: URL/v2/pause/..., the same
repository names), ahead of --mirror for that registry; other registries are unaffected. Its
content is checked like any other source's.

Environment:
  PODPLANE_IMAGES_CACHE   default for --cache (else ~/.cache/podplane-images)
  PODPLANE_IMAGES_MIRROR  default for --mirror
  CI                      plain one-line-per-event progress (also when stderr is not a TTY)
${EXIT_CODES_HELP}`,
    );
  addSelectionOptions(command);
  addMirrorOption(command);
  addRegistryMirrorOption(command);
  addCacheOption(command);
  return command
    .option("--concurrency <n>", "parallel downloads", parsePositiveInt, DEFAULT_CONCURRENCY)
    .option("--base-image", "also fetch each manifest's Debian base image (os.image)")
    .option("--no-images", "skip the container images (vmconfig.images) of the manifests")
    .option("--json", "print one JSON summary on stdout")
    .action(async (flags: FetchFlags) => {
      const manifests = await selectManifests(flags);
      // Loaded here: build, plan, verify, pin and mirror import this module for its option helpers only.
      const { fetchWithProgress } = await import("../progress/fetch.js");
      const summary = await withInterrupts((signal) => fetchWithProgress(manifests, { ...flags, registryMirrors: flags.registryMirror, plain: flags.json }, signal));
      if (flags.json) {
        printJson({ ok: true, cacheDir: flags.cache, mirror: flags.mirror ?? null, registryMirrors: registryMirrorsJson(flags.registryMirror), bytesDownloaded: summary.bytesDownloaded, seconds: summary.seconds, artifacts: artifactJson(summary), images: imageJson(summary) });
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
