// Release versions as GitHub tags and registry tags write them: a numeric core of dotted
// integers (1.36.2, 3.10) with an optional prerelease (-rc.1) and build (+meta), inside a fixed
// prefix and suffix per project (`v1.4.2`, `0.11.2`, `v1.2.3-alpine`). Comparison is semver's
// where semver applies (core numerically, a prerelease before its release, prerelease
// identifiers numeric before alphanumeric), extended to cores of any length (3.10 < 3.10.1).

export interface ReleaseVersion {
  core: number[];
  /** The prerelease identifiers, empty for a release. */
  prerelease: string[];
  /** The version as found (without the tag's prefix/suffix). */
  text: string;
}

const VERSION = /^(\d+(?:\.\d+)*)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

export function parseReleaseVersion(text: string): ReleaseVersion | undefined {
  const match = VERSION.exec(text);
  if (!match?.[1]) return undefined;
  const core = match[1].split(".").map(Number);
  if (core.some((n) => !Number.isSafeInteger(n))) return undefined;
  return { core, prerelease: match[2] ? match[2].split(".") : [], text };
}

function compareIdentifiers(a: string, b: string): number {
  const an = /^\d+$/.test(a);
  const bn = /^\d+$/.test(b);
  if (an && bn) return Math.sign(Number(a) - Number(b));
  if (an !== bn) return an ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export function compareReleaseVersions(a: ReleaseVersion, b: ReleaseVersion): number {
  const length = Math.max(a.core.length, b.core.length);
  for (let i = 0; i < length; i++) {
    const x = a.core[i] ?? -1; // a missing component sorts first: 3.10 < 3.10.0 < 3.10.1
    const y = b.core[i] ?? -1;
    if (x !== y) return x < y ? -1 : 1;
  }
  if (a.prerelease.length === 0 || b.prerelease.length === 0) return Math.sign(b.prerelease.length - a.prerelease.length);
  for (let i = 0; i < Math.max(a.prerelease.length, b.prerelease.length); i++) {
    const x = a.prerelease[i];
    const y = b.prerelease[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const c = compareIdentifiers(x, y);
    if (c !== 0) return c;
  }
  return 0;
}

/** A tag's shape: the text around the version (`v` + version, or version + `-alpine`). */
export interface TagShape {
  prefix: string;
  suffix: string;
}

/** The version inside `tag` when the tag has `shape`; undefined otherwise. */
export function versionInTag(tag: string, shape: TagShape): ReleaseVersion | undefined {
  if (!tag.startsWith(shape.prefix) || !tag.endsWith(shape.suffix) || tag.length <= shape.prefix.length + shape.suffix.length) return undefined;
  return parseReleaseVersion(tag.slice(shape.prefix.length, tag.length - shape.suffix.length));
}

/**
 * The shape of a tag as a pinned version sits in it: `v1.4.2` → prefix "v"; `3.10.2` → none;
 * `v1.2.3-alpine` → prefix "v", suffix "-alpine": only tags of the same shape are its successors.
 */
export function shapeOfTag(tag: string): { shape: TagShape; version: ReleaseVersion } | undefined {
  const match = /^([^0-9]*)(\d+(?:\.\d+)*)(.*)$/.exec(tag);
  if (!match?.[2]) return undefined;
  const [, prefix = "", core, suffix = ""] = match;
  const version = parseReleaseVersion(core);
  return version ? { shape: { prefix, suffix }, version } : undefined;
}

/** The highest release (no prerelease) among `versions`. */
export function highestRelease(versions: Iterable<ReleaseVersion>): ReleaseVersion | undefined {
  let best: ReleaseVersion | undefined;
  for (const v of versions) {
    if (v.prerelease.length > 0) continue;
    if (!best || compareReleaseVersions(v, best) > 0) best = v;
  }
  return best;
}
