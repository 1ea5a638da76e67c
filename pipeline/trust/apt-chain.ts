// The apt chain of trust for one .deb, as apt itself walks it: the suite's InRelease verified
// against the pinned keyring (trust/<name>), the Packages index by the SHA256 that InRelease
// lists for it, and the .deb by the SHA256 its Packages stanza lists. Each link is checked before
// the next is believed; any failure names the artifact and the link.
//
// With --mirror all three files come from the mirror like any other bytes. That is safe without
// --checksums-from: the signature on InRelease is what makes them trustworthy, and a mirror can
// only serve a copy that verifies against the key pinned in the repo, or be refused.
import { WorkError } from "../errors/index.js";
import { downloadToCache, fetchText, type DownloadContext } from "../fetch/index.js";
import { digestToIntegrity } from "../manifest/index.js";
import type { PinCheck } from "../pin/checks.js";
import { findPackage, packagesCandidates, parseRelease, type IndexEntry } from "./apt.js";
import { loadKeyring, verifyClearSigned } from "./pgp.js";

/** Where a dependency's apt repository is and which trust root signs it (catalog metadata). */
export interface AptRepository {
  /** The archive root, with a trailing slash: `https://deb.debian.org/debian/`; `dists/` and `pool/` sit below it. */
  root: string;
  suite: string;
  component: string;
  /** The directory under trust/ holding the armored keys that sign InRelease. */
  keyring: string;
}

export interface AptChainContext {
  trustDir: string;
  /** Where every file is read from (the mirror when set). */
  bytes: DownloadContext;
  /** A scratch cache for the Packages indexes (verified on the way in like any artifact; not the artifact cache). */
  indexCacheDir: string;
  /** The clock for Valid-Until (tests). */
  now?: () => Date;
}

export interface AptPinned {
  digest: string;
  size: number;
  checks: PinCheck[];
}

function chainError(code: string, label: string, check: PinCheck["kind"], message: string, data: Record<string, unknown> = {}, cause?: unknown): WorkError {
  return new WorkError(code, `${label}: ${message}`, { label, check, ...data }, cause === undefined ? undefined : { cause });
}

async function downloadIndex(candidates: IndexEntry[], suiteUrl: string, releaseFrom: string, label: string, context: AptChainContext) {
  let lastMissing: unknown;
  for (const entry of candidates) {
    const url = `${suiteUrl}${entry.path}`;
    try {
      const written = await downloadToCache(
        url,
        { label: `${label} Packages index`, integrity: digestToIntegrity(`sha256:${entry.sha256}`), size: entry.size },
        { ...context.bytes, cacheDir: context.indexCacheDir },
      );
      return { entry, url, file: written.path };
    } catch (error) {
      if (error instanceof WorkError && (error.code === "EINTEGRITY" || error.code === "EBADSIZE")) {
        const found = typeof error.data.found === "string" || typeof error.data.found === "number" ? String(error.data.found) : "?";
        const what = error.code === "EINTEGRITY" ? `expected sha256:${entry.sha256}, found ${found}` : `expected ${entry.size} bytes, found ${found}`;
        throw chainError(
          "EINDEXDIGEST",
          label,
          "digest-file",
          `the Packages index ${typeof error.data.url === "string" ? error.data.url : url} differs from its SHA256 in the signed InRelease ${releaseFrom}: ${what}`,
          { url, expected: `sha256:${entry.sha256}`, found },
          error,
        );
      }
      // InRelease lists the uncompressed index too, which archives often do not serve: try the next form.
      if (error instanceof WorkError && error.code === "ENOTFOUND") {
        lastMissing = error;
        continue;
      }
      throw error;
    }
  }
  throw chainError("EINDEX", label, "digest-file", `none of the Packages indexes InRelease lists (${candidates.map((c) => c.path).join(", ")}) could be downloaded`, {}, lastMissing);
}

/** Verifies the chain for the .deb at `url` and downloads it into the cache; returns its digest, size and the checks that ran. */
export async function pinFromApt(repo: AptRepository, url: string, arch: string, label: string, context: AptChainContext): Promise<AptPinned> {
  if (!url.startsWith(repo.root)) {
    throw chainError("EINDEX", label, "digest-file", `${url} is not below the apt repository ${repo.root} the catalog names`);
  }
  const filename = url.slice(repo.root.length);
  const suiteUrl = `${repo.root}dists/${repo.suite}/`;
  const keyring = await loadKeyring(context.trustDir, repo.keyring);

  // 1. InRelease, verified by a pinned key
  const inRelease = await fetchText(`${suiteUrl}InRelease`, `${label} InRelease`, context.bytes);
  const verified = await verifyClearSigned(inRelease.text, keyring, { label, source: inRelease.from });
  const release = parseRelease(verified.text, inRelease.from);
  if (release.codename !== repo.suite && release.suite !== repo.suite) {
    // a validly signed InRelease of another suite (an older release) served in its place
    throw chainError("ERELEASE", label, "signature", `${inRelease.from} is signed but describes suite ${release.suite ?? "?"} (codename ${release.codename ?? "?"}), not ${repo.suite}`);
  }
  const now = context.now?.() ?? new Date();
  if (release.validUntil && release.validUntil.getTime() < now.getTime()) {
    throw chainError("ERELEASE", label, "signature", `${inRelease.from} expired on ${release.validUntil.toISOString()} (Valid-Until): a stale copy`);
  }
  const checks: PinCheck[] = verified.fingerprints.map((key) => ({
    kind: "signature",
    detail: `InRelease of ${repo.suite} signed by ${key}`,
    source: `${suiteUrl}InRelease`,
    trustRoot: keyring.name,
    key,
  }));

  // 2. the Packages index, by the digest InRelease lists
  const candidates = packagesCandidates(release, repo.component, arch);
  if (candidates.length === 0) {
    throw chainError("EINDEX", label, "digest-file", `${inRelease.from} lists no Packages index for ${repo.component}/binary-${arch}`);
  }
  const index = await downloadIndex(candidates, suiteUrl, inRelease.from, label, context);
  checks.push({ kind: "digest-file", detail: `${index.entry.path} matches InRelease's SHA256`, source: index.url });

  // 3. the .deb, by the digest its Packages stanza lists
  const stanza = await findPackage(index.file, index.entry.path, filename);
  if (!stanza) {
    throw chainError("ENOTINDEX", label, "digest-file", `${filename} is not listed in the Packages index ${index.url} (signed through ${inRelease.from}): no digest vouches for it`, { filename });
  }
  if (!/^[0-9a-f]{64}$/.test(stanza.sha256) || !Number.isSafeInteger(stanza.size)) {
    throw chainError("EINDEX", label, "digest-file", `the Packages stanza of ${filename} in ${index.url} has no usable SHA256/Size`);
  }
  if (stanza.architecture !== arch && stanza.architecture !== "all") {
    throw chainError("EINDEX", label, "digest-file", `the Packages stanza of ${filename} says Architecture ${stanza.architecture}, not ${arch}`);
  }
  const expected = `sha256:${stanza.sha256}`;
  try {
    const written = await downloadToCache(url, { label, integrity: digestToIntegrity(expected), size: stanza.size }, context.bytes);
    checks.push({ kind: "digest-file", detail: `${stanza.package} ${stanza.version} matches the SHA256 in Packages`, source: index.url });
    return { digest: expected, size: written.size, checks };
  } catch (error) {
    if (error instanceof WorkError && (error.code === "EINTEGRITY" || error.code === "EBADSIZE")) {
      throw chainError(error.code, label, "digest-file", `${typeof error.data.url === "string" ? error.data.url : url} does not match its entry in the Packages index ${index.url}: expected ${expected} (${stanza.size} bytes), found ${String(error.data.found)}`, { url, expected }, error);
    }
    throw error;
  }
}
