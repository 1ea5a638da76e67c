// bump [NAME...]: for every dependency and container image of the selected lock manifests, the
// newest upstream version, grouped into rows of the same name, current and newest version
// across manifests. A source that cannot be read makes its rows "unknown" with the reason; it
// never stops the others.
import path from "node:path";
import { CATALOG, CATALOG_GROUPS, catalogEntry } from "../catalog/index.js";
import { UsageError } from "../errors/index.js";
import { DEFAULT_RETRY, DEFAULT_TIMEOUT_MS, redactUrls, type RetryPolicy } from "../fetch/index.js";
import { loadManifests, type Arch, type Kind, type Manifest } from "../manifest/index.js";
import { parseImageReference, type RegistryMirrors } from "../oci/index.js";
import { upstreamSourceOf, type UpstreamSource } from "./sources.js";
import { Upstream, type Newest } from "./upstream.js";

export type BumpStatus = "up-to-date" | "newer" | "unknown";

export interface BumpManifestRef {
  file: string;
  kind: Kind;
  arch: Arch;
}

export interface BumpRow {
  /** A dependency name (`kubelet`) or an image repository (`registry.k8s.io/pause`). */
  name: string;
  type: "dependency" | "image";
  source: UpstreamSource["kind"] | "registry" | "none";
  manifests: BumpManifestRef[];
  current: string;
  /** null when unknown (null, not absent, in --json). */
  newest: string | null;
  status: BumpStatus;
  /** Why the status is unknown; null otherwise. */
  reason: string | null;
  /** The listing the newest version was read from; null when unknown. */
  from: string | null;
}

export interface BumpOptions {
  /** Dependency names, `kubernetes`, or image repositories (`registry.k8s.io/pause` or `pause`); empty: everything. */
  names: readonly string[];
  manifestsDir: string;
  kinds?: readonly Kind[] | undefined;
  arches?: readonly Arch[] | undefined;
  /** Kubernetes: look past the pinned minor (stable.txt instead of stable-1.NN.txt). */
  anyMinor?: boolean | undefined;
  mirror?: string | undefined;
  /** Registry → a registry mirror whose tags list is read instead of the registry's (or the mirror tree's). */
  registryMirrors?: RegistryMirrors | undefined;
  githubToken?: string | undefined;
  signal?: AbortSignal | undefined;
  retry?: RetryPolicy | undefined;
  timeoutMs?: number | undefined;
  onProgress?: ((line: string) => void) | undefined;
}

export interface BumpReport {
  rows: BumpRow[];
  counts: Record<BumpStatus, number>;
  /** Every row is unknown because its source failed: nothing could be looked up. */
  allFailed: boolean;
}

/** One dependency or image of one manifest, before lookup. */
interface Item {
  name: string;
  type: BumpRow["type"];
  manifest: Manifest;
  current: string;
  image?: string;
}

function repositoryOf(image: string): string {
  const ref = parseImageReference(image);
  return `${ref.registry}/${ref.repository}`;
}

function itemsOf(manifests: readonly Manifest[]): Item[] {
  const items: Item[] = [];
  for (const manifest of manifests) {
    // vmconfig is built here (no url): it has no upstream
    for (const dep of manifest.dependencies) if (!dep.local) items.push({ name: dep.name, type: "dependency", manifest, current: dep.version });
    for (const image of manifest.images) {
      items.push({ name: repositoryOf(image.image), type: "image", manifest, current: parseImageReference(image.image).tag, image: image.image });
    }
  }
  return items;
}

/** The items the names ask for; every name that matches nothing is named in one usage error. */
function select(items: readonly Item[], names: readonly string[]): Item[] {
  if (names.length === 0) return [...items];
  const wanted = new Set<Item>();
  const unknown: string[] = [];
  const absent: string[] = [];
  for (const name of names) {
    const aliases = CATALOG_GROUPS[name] ?? [name];
    const matches = items.filter((item) => aliases.includes(item.name) || (item.type === "image" && item.name.slice(item.name.lastIndexOf("/") + 1) === name));
    if (matches.length > 0) matches.forEach((item) => wanted.add(item));
    else if (CATALOG_GROUPS[name] || catalogEntry(name)) absent.push(name);
    else unknown.push(name);
  }
  const problems: string[] = [];
  if (unknown.length > 0) {
    const known = [...Object.keys(CATALOG_GROUPS), ...CATALOG.map((e) => e.name), ...new Set(items.filter((i) => i.type === "image").map((i) => i.name))];
    problems.push(`unknown dependency or image ${unknown.map((n) => JSON.stringify(n)).join(", ")}; expected one of ${known.join(", ")}`);
  }
  if (absent.length > 0) problems.push(`not in the selected manifests: ${absent.map((n) => JSON.stringify(n)).join(", ")}`);
  if (problems.length > 0) throw new UsageError(problems.join("; "), "EUNKNOWNDEP");
  return items.filter((item) => wanted.has(item));
}

type Lookup = { ok: true; found: Newest; source: BumpRow["source"] } | { ok: false; reason: string; source: BumpRow["source"] };

async function lookup(item: Item, upstream: Upstream, anyMinor: boolean): Promise<Lookup> {
  let source: BumpRow["source"] = "none";
  try {
    if (item.type === "image") {
      source = "registry";
      return { ok: true, found: await upstream.image(item.image ?? ""), source };
    }
    const from = upstreamSourceOf(item.name);
    if (!from) return { ok: false, reason: "no upstream source is known for it (not in bump's sources)", source };
    source = from.kind;
    switch (from.kind) {
      case "kubernetes":
        return { ok: true, found: await upstream.kubernetes(item.current, anyMinor), source };
      case "github":
        return { ok: true, found: await upstream.github(from, item.current), source };
      case "apt":
        return { ok: true, found: await upstream.apt(from, item.manifest.arch, item.current), source };
    }
  } catch (error) {
    if ((error as { name?: string }).name === "AbortError") throw error;
    return { ok: false, reason: redactUrls(error instanceof Error ? error.message : String(error)), source };
  }
}

const ORDER: Record<BumpRow["type"], number> = { dependency: 0, image: 1 };

export async function findBumps(options: BumpOptions): Promise<BumpReport> {
  const manifests = await loadManifests(options.manifestsDir, { kinds: options.kinds, arches: options.arches });
  const items = select(itemsOf(manifests), options.names);
  const upstream = new Upstream({
    mirror: options.mirror,
    registryMirrors: options.registryMirrors,
    signal: options.signal,
    retry: options.retry ?? DEFAULT_RETRY,
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    githubToken: options.githubToken,
  });
  const looked = await Promise.all(items.map(async (item) => ({ item, result: await lookup(item, upstream, options.anyMinor === true) })));
  options.signal?.throwIfAborted();

  const rows = new Map<string, BumpRow>();
  for (const { item, result } of looked) {
    const newest = result.ok ? result.found.newest : null;
    const status: BumpStatus = result.ok ? (result.found.newer ? "newer" : "up-to-date") : "unknown";
    const reason = result.ok ? null : result.reason;
    const key = JSON.stringify([item.type, item.name, item.current, newest, status, reason]);
    const ref: BumpManifestRef = { file: item.manifest.file, kind: item.manifest.kind, arch: item.manifest.arch };
    const row = rows.get(key);
    if (row) row.manifests.push(ref);
    else rows.set(key, { name: item.name, type: item.type, source: result.source, manifests: [ref], current: item.current, newest, status, reason, from: result.ok ? result.found.from : null });
  }
  const sorted = [...rows.values()].sort((a, b) => ORDER[a.type] - ORDER[b.type] || a.name.localeCompare(b.name) || a.current.localeCompare(b.current));
  for (const row of sorted) row.manifests.sort((a, b) => path.basename(a.file).localeCompare(path.basename(b.file)));
  const counts: Record<BumpStatus, number> = { "up-to-date": 0, newer: 0, unknown: 0 };
  for (const row of sorted) counts[row.status]++;
  const failedSources = sorted.filter((row) => row.status === "unknown" && row.source !== "none").length;
  return { rows: sorted, counts, allFailed: sorted.length > 0 && counts.unknown === sorted.length && failedSources > 0 };
}
