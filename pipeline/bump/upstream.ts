// Finding the newest upstream version of one dependency from its source. Every listing is read
// once per run (memoised by URL): knd and knc, and the three Debian packages of one arch,
// share their reads.
//
// Mirror layout of the listings (`--mirror`), the same `<mirror>/<host>/<path>` mapping as
// artifacts (fetch/mirror.ts), query strings dropped:
//   GitHub releases   <mirror>/api.github.com/repos/<owner>/<repo>/releases   (the JSON array of the API's first page)
//   Kubernetes        <mirror>/dl.k8s.io/release/stable-1.<minor>.txt, <mirror>/dl.k8s.io/release/stable.txt
//   apt               <mirror>/deb.debian.org/debian/dists/trixie/main/binary-<arch>/Packages.gz,
//                     <mirror>/packages.fluentbit.io/debian/trixie/dists/trixie/main/binary-<arch>/Packages
//   registry tags     <mirror>/<registry>/v2/<repository>/tags/list   (as the registry answers it; pipeline/oci's layout)
import { pipeline } from "node:stream/promises";
import { Writable } from "node:stream";
import { WorkError } from "../errors/index.js";
import { withRetries } from "../fetch/index.js";
import type { Arch } from "../manifest/index.js";
import { parseImageReference, registrySource, type ContentKind } from "../oci/index.js";
import { compareDebianVersions, parseDebianVersion, withoutEpoch } from "./debian-version.js";
import { parsePackagesIndex, type IndexedPackage } from "./packages-index.js";
import { readListing, type ReadContext } from "./read.js";
import { compareReleaseVersions, highestRelease, parseReleaseVersion, shapeOfTag, versionInTag, type ReleaseVersion, type TagShape } from "./release-version.js";
import type { UpstreamSource } from "./sources.js";

export interface Newest {
  /** The newest version, written as the manifest writes versions (no `v`, no epoch; an image's tag). */
  newest: string;
  /** Whether it is newer than the current version. */
  newer: boolean;
  /** The listing it was read from (a URL or a mirror file). */
  from: string;
}

const GITHUB_ACCEPT = { accept: "application/vnd.github+json", "x-github-api-version": "2022-11-28" };
const MAX_TAGS_LIST = 8 * 1024 * 1024;

export class Upstream {
  private readonly texts = new Map<string, Promise<{ text: string; from: string }>>();
  private readonly indexes = new Map<string, Promise<{ packages: Map<string, IndexedPackage[]>; from: string }>>();
  private readonly tags = new Map<string, Promise<{ tags: string[]; from: string }>>();

  constructor(private readonly context: ReadContext) {}

  private text(url: string, label: string, headers?: Record<string, string>): Promise<{ text: string; from: string }> {
    let pending = this.texts.get(url);
    if (!pending) {
      pending = readListing(url, label, this.context, headers);
      this.texts.set(url, pending);
    }
    return pending;
  }

  /** Kubernetes: dl.k8s.io's stable marker of the pinned minor (`stable-1.36.txt`), or of all (`stable.txt`) with `anyMinor`. */
  async kubernetes(current: string, anyMinor: boolean): Promise<Newest> {
    const pinned = parseReleaseVersion(current);
    if (!pinned || pinned.core.length < 2) throw new WorkError("EVERSION", `the pinned version ${JSON.stringify(current)} is not MAJOR.MINOR.PATCH`, { current });
    const marker = anyMinor ? "stable.txt" : `stable-${pinned.core[0]}.${pinned.core[1]}.txt`;
    const { text, from } = await this.text(`https://dl.k8s.io/release/${marker}`, `Kubernetes ${marker}`);
    const found = versionInTag(text.trim(), { prefix: "v", suffix: "" });
    if (!found || found.prerelease.length > 0) throw new WorkError("EFORMAT", `${from}: expected a release like v1.36.2, found ${JSON.stringify(text.trim().slice(0, 80))}`, { url: from });
    return { newest: found.text, newer: compareReleaseVersions(found, pinned) > 0, from };
  }

  /** A GitHub project: the highest release of the API's listing (drafts and prereleases skipped) whose tag has the catalog's shape. */
  async github(source: Extract<UpstreamSource, { kind: "github" }>, current: string): Promise<Newest> {
    const url = `https://api.github.com/repos/${source.owner}/${source.repo}/releases?per_page=100`;
    const { text, from } = await this.text(url, `${source.owner}/${source.repo} releases`, GITHUB_ACCEPT);
    let listing: unknown;
    try {
      listing = JSON.parse(text);
    } catch {
      throw new WorkError("EFORMAT", `${from}: not a JSON release listing`, { url: from });
    }
    if (!Array.isArray(listing)) throw new WorkError("EFORMAT", `${from}: expected a JSON array of releases`, { url: from });
    const versions = (listing as { tag_name?: unknown; draft?: unknown; prerelease?: unknown }[])
      .filter((r) => typeof r.tag_name === "string" && r.draft !== true && r.prerelease !== true)
      .map((r) => versionInTag(r.tag_name as string, source.shape))
      .filter((v) => v !== undefined);
    return this.pick(versions, current, source.shape, from);
  }

  private pick(versions: Iterable<ReleaseVersion>, current: string, shape: TagShape, from: string): Newest {
    const best = highestRelease(versions);
    if (!best) throw new WorkError("ENORELEASE", `${from}: no release tagged ${shape.prefix}<version>${shape.suffix}`, { url: from });
    const pinned = parseReleaseVersion(current);
    if (!pinned) throw new WorkError("EVERSION", `the pinned version ${JSON.stringify(current)} is not a release version`, { current });
    return { newest: best.text, newer: compareReleaseVersions(best, pinned) > 0, from };
  }

  /** An apt package: the highest Version (dpkg's ordering) for the arch (or `all`) in the suite's Packages index. */
  async apt(source: Extract<UpstreamSource, { kind: "apt" }>, arch: Arch, current: string): Promise<Newest> {
    const url = source.index(arch);
    let pending = this.indexes.get(url);
    if (!pending) {
      // read past the text memo: only the parsed index is kept, not 60 MB of text
      pending = readListing(url, `Packages index (${arch})`, this.context).then(({ text, from }) => ({ packages: parsePackagesIndex(text), from }));
      this.indexes.set(url, pending);
    }
    const { packages, from } = await pending;
    const candidates = (packages.get(source.package) ?? []).filter((p) => p.architecture === arch || p.architecture === "all");
    let best: IndexedPackage | undefined;
    for (const p of candidates) {
      try {
        if (!best || compareDebianVersions(p.version, best.version) > 0) best = p;
      } catch {
        // a malformed Version in the index is not a candidate
      }
    }
    if (!best) throw new WorkError("ENORELEASE", `${from}: no ${source.package} for ${arch}`, { url: from, package: source.package });
    // The manifest's version is the file name's, without the epoch (uidmap is 1:4.17.4-2 in the
    // index): take the epoch of the index's entry of the same version, else the newest one's.
    const same = candidates.find((p) => safeWithoutEpoch(p.version) === current);
    const epoch = parseDebianVersion(best.version).epoch;
    const pinned = same ? same.version : epoch > 0 ? `${epoch}:${current}` : current;
    return { newest: withoutEpoch(best.version), newer: compareDebianVersions(best.version, pinned) > 0, from };
  }

  /** A container image: the registry's tags list, the highest release tag of the pinned tag's shape (`3.10.2`, `v1.2.3`). */
  async image(image: string): Promise<Newest> {
    const ref = parseImageReference(image);
    const pinned = shapeOfTag(ref.tag);
    if (!pinned) throw new WorkError("EVERSION", `the pinned tag ${JSON.stringify(ref.tag)} has no version in it`, { image });
    const key = `${ref.registry}/${ref.repository}`;
    let pending = this.tags.get(key);
    if (!pending) {
      pending = this.readTags(ref.registry, ref.repository);
      this.tags.set(key, pending);
    }
    const { tags, from } = await pending;
    const versions = tags.map((tag) => versionInTag(tag, pinned.shape)).filter((v) => v !== undefined);
    const best = highestRelease(versions);
    if (!best) throw new WorkError("ENORELEASE", `${from}: no tag ${pinned.shape.prefix}<version>${pinned.shape.suffix}`, { url: from });
    return { newest: `${pinned.shape.prefix}${best.text}${pinned.shape.suffix}`, newer: compareReleaseVersions(best, pinned.version) > 0, from };
  }

  /**
   * GET /v2/<repository>/tags/list through pipeline/oci's registry client (anonymous bearer
   * token, redirects, the mirror's `<registry>/v2/<repository>/...` layout). The client names
   * its paths `<kind>/<reference>`, so the tags list is kind "tags", reference "list".
   * Only the first page is read (the client does not expose a `Link` header): a registry that
   * paginates may hold newer tags on later pages; registry.k8s.io answers with one page.
   */
  private async readTags(registry: string, repository: string): Promise<{ tags: string[]; from: string }> {
    const source = registrySource(registry, repository, this.context);
    const label = `${registry}/${repository} tags`;
    const kind = "tags" as ContentKind;
    const from = source.describe(kind, "list");
    const bytes = await withRetries(
      async () => {
        const opened = await source.open({ kind, reference: "list", accept: "application/json", label, signal: this.context.signal, timeoutMs: this.context.timeoutMs });
        const chunks: Buffer[] = [];
        let size = 0;
        await pipeline(
          opened.stream,
          new Writable({
            write(chunk: Buffer, _encoding, done) {
              size += chunk.length;
              if (size > MAX_TAGS_LIST) return done(new WorkError("EBADSIZE", `${label}: ${from} is larger than ${MAX_TAGS_LIST} bytes`, { url: from }));
              chunks.push(chunk);
              done();
            },
          }),
        );
        return Buffer.concat(chunks);
      },
      this.context.retry,
      { signal: this.context.signal },
    );
    let body: unknown;
    try {
      body = JSON.parse(bytes.toString("utf8"));
    } catch {
      throw new WorkError("EFORMAT", `${from}: not a JSON tags list`, { url: from });
    }
    const tags = (body as { tags?: unknown }).tags;
    if (!Array.isArray(tags)) throw new WorkError("EFORMAT", `${from}: expected {"tags": [...]}`, { url: from });
    return { tags: tags.filter((t): t is string => typeof t === "string"), from };
  }
}

function safeWithoutEpoch(version: string): string | undefined {
  try {
    return withoutEpoch(version);
  } catch {
    return undefined;
  }
}
