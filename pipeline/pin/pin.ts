// pin NAME@VERSION: build each URL from the catalog, fetch upstream's checksum file, download
// the artifact verified against that checksum into the cache, and write version/url/digest/size
// into every matching manifest. All or nothing: if any download or cross-check fails, no
// manifest is changed. A mirror supplies the bytes but never decides the digest on its own:
// the checksum file comes from upstream (or --checksums-from, a copy obtained from upstream),
// otherwise pin refuses unless --trust-mirror, and then marks the entry "trust": "mirror".
// Where upstream signs what names the digest (the catalog's `signature`), the signature is
// verified against the keys pinned in trust/ and the signed files may come from the mirror: the
// signature vouches for them, not the server. Each artifact reports the checks that ran.
import { randomUUID } from "node:crypto";
import { mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pLimit from "p-limit";
import { parseChecksumFile, resolveCatalogName, type CatalogEntry } from "../catalog/index.js";
import { UsageError, WorkError } from "../errors/index.js";
import { downloadContext, downloadToCache, fetchText, redactUrls, valuesOrThrow, type DownloadContext, type RetryPolicy } from "../fetch/index.js";
import { sigstoreChecks, type SigstoreFetch } from "../trust/sigstore-pin.js";
import { digestToIntegrity, integrityToDigest, loadManifests, parseManifest, type Arch, type Kind, type Manifest } from "../manifest/index.js";
import { pinFromApt } from "../trust/apt-chain.js";
import { verifySignedChecksumFile } from "../trust/pgp-checksums.js";
import { describeChecks, type PinCheck } from "./checks.js";

/** trust/ of this checkout: the pinned keys signatures are checked against. */
export const DEFAULT_TRUST_DIR = path.resolve(import.meta.dirname, "..", "..", "trust");

export interface PinOptions {
  /** `NAME@VERSION`, e.g. `kubernetes@1.36.2` or `runc@v1.4.3`. */
  spec: string;
  manifestsDir: string;
  kinds?: readonly Kind[] | undefined;
  arches?: readonly Arch[] | undefined;
  cacheDir: string;
  mirror?: string | undefined;
  /** Where upstream's checksum files are read when a mirror is set (a URL or directory in mirror layout); default: upstream itself. */
  checksumsFrom?: string | undefined;
  /** Accept a digest that only the mirror vouches for (its checksum file, or its bytes for a .deb); recorded as "trust": "mirror". */
  trustMirror?: boolean | undefined;
  /** The trust roots (armored keys per upstream, trust/sigstore); default: trust/ of this checkout. Tests point it at a test key. */
  trustDir?: string | undefined;
  /** Where the Sigstore roots and expected identities are (default <trustDir>/sigstore; tests pass a test CA). */
  sigstoreTrustDir?: string | undefined;
  signal?: AbortSignal | undefined;
  retry?: RetryPolicy | undefined;
  timeoutMs?: number | undefined;
  onProgress?: ((line: string) => void) | undefined;
}

export interface PinnedArtifact {
  name: string;
  version: string;
  arch: Arch;
  url: string;
  digest: string;
  size: number;
  /** The checksum file the digest was cross-checked against; undefined when upstream has none we read. */
  checksum: { url: string; format: string; from: string } | undefined;
  note: string | undefined;
  /** "mirror" when only the mirror vouches for the digest (--trust-mirror). */
  trust: "mirror" | undefined;
  /** Which checks ran: the digest file(s), the signature (with the key), the signer identity. */
  checks: PinCheck[];
  /** Why no signature was checked (upstream publishes none we verify); undefined when one was. */
  unsigned: string | undefined;
}

const UNSIGNED = "upstream publishes no signature pin verifies for this artifact";

export interface PinResult {
  pins: PinnedArtifact[];
  files: { file: string; changed: string[] }[];
}

export function parsePinSpec(spec: string): { name: string; version: string } {
  const match = /^([a-z0-9][a-z0-9-]*)@v?([0-9A-Za-z][0-9A-Za-z.+~_-]*)$/.exec(spec.trim());
  if (!match?.[1] || !match[2]) throw new UsageError(`expected NAME@VERSION (e.g. kubernetes@1.36.2), found ${JSON.stringify(spec)}`, "EUSAGE");
  return { name: match[1], version: match[2] };
}

interface Target {
  manifest: Manifest;
  entry: CatalogEntry;
}

function fileNameOf(url: string): string {
  return decodeURIComponent(new URL(url).pathname.split("/").pop() ?? "");
}

interface PinContexts {
  /** Where the artifact's bytes come from (the mirror when set). */
  bytes: DownloadContext;
  /** Where the digest comes from when a mirror is set: upstream, or --checksums-from. Undefined without a mirror. */
  independent: DownloadContext | undefined;
  trustMirror: boolean;
  trustDir: string;
  sigstore: SigstoreFetch;
  /** Scratch cache for apt Packages indexes (removed after the run). */
  indexCacheDir: string;
}

function untrusted(label: string, what: string, cause: unknown): WorkError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new WorkError(
    "EUNTRUSTED",
    `${label}: ${what} could not be read from upstream (${reason}); a mirror alone cannot vouch for a digest. Make upstream reachable, pass --checksums-from <url|dir> with upstream's checksum files, or --trust-mirror to take the mirror's word (recorded as "trust": "mirror" in the manifest)`,
    { label },
    { cause },
  );
}

/** The checksum file's text: from upstream (or --checksums-from) when a mirror is set; the mirror's only with --trust-mirror. */
async function readChecksumFile(url: string, label: string, contexts: PinContexts): Promise<{ text: string; from: string; trust: "mirror" | undefined }> {
  if (!contexts.independent) return { ...(await fetchText(url, label, contexts.bytes)), trust: undefined };
  try {
    return { ...(await fetchText(url, label, contexts.independent)), trust: undefined };
  } catch (error) {
    if (!contexts.trustMirror || contexts.independent.signal?.aborted) throw untrusted(label, "the checksum file", error);
    return { ...(await fetchText(url, label, contexts.bytes)), trust: "mirror" };
  }
}

async function pinOne(entry: CatalogEntry, version: string, arch: Arch, contexts: PinContexts): Promise<PinnedArtifact> {
  const url = entry.url(version, arch);
  const label = `${entry.name} ${version} ${arch}`;
  if (entry.signature?.kind === "apt-inrelease") {
    const pinned = await pinFromApt(entry.signature, url, arch, label, { trustDir: contexts.trustDir, bytes: contexts.bytes, indexCacheDir: contexts.indexCacheDir });
    return { name: entry.name, version, arch, url, digest: pinned.digest, size: pinned.size, checksum: undefined, note: undefined, trust: undefined, checks: pinned.checks, unsigned: undefined };
  }
  if (!entry.checksum) {
    // No checksum file: the digest is that of the bytes, so they must come from upstream.
    let trust: "mirror" | undefined;
    let written;
    if (contexts.independent) {
      try {
        written = await downloadToCache(url, { label, algorithm: entry.algorithm }, { ...contexts.independent, mirror: undefined });
      } catch (error) {
        if (!contexts.trustMirror || contexts.bytes.signal?.aborted) throw untrusted(label, "the file itself (it has no checksum file)", error);
        written = await downloadToCache(url, { label, algorithm: entry.algorithm }, contexts.bytes);
        trust = "mirror";
      }
    } else {
      written = await downloadToCache(url, { label, algorithm: entry.algorithm }, contexts.bytes);
    }
    const checks: PinCheck[] = [];
    return { name: entry.name, version, arch, url, digest: integrityToDigest(written.integrity), size: written.size, checksum: undefined, note: entry.noChecksum, trust, checks, unsigned: UNSIGNED };
  }
  const checksumUrl = entry.checksum.url(version, arch);
  const checks: PinCheck[] = [];
  let format = entry.checksum.format;
  let text: string, from: string, trust: "mirror" | undefined;
  if (entry.signature?.kind === "pgp-clearsigned") {
    // Signed: read it where the bytes come from (the mirror when set); the signature vouches for it.
    ({ text, from } = await fetchText(checksumUrl, `${label} checksum file`, contexts.bytes));
    const signed = await verifySignedChecksumFile(text, { label, source: from, url: checksumUrl, trustDir: contexts.trustDir, keyring: entry.signature.keyring });
    text = signed.text;
    checks.push(...signed.checks);
    format = format === "pgp-hex-name" ? "hex-name" : format; // gpgv already removed the armor
    trust = undefined;
  } else {
    ({ text, from, trust } = await readChecksumFile(checksumUrl, `${label} checksum file`, contexts));
  }
  // a signed checksum file (kube2iam's Sigstore bundle) is verified before any digest is taken from it
  checks.push(...(await sigstoreChecks(entry.sigstore, { label, version, arch, checksum: { url: checksumUrl, text } }, contexts.sigstore)));
  const hex = parseChecksumFile(text, { format, algorithm: entry.checksum.algorithm, fileName: fileNameOf(url), source: from });
  const expected = `${entry.checksum.algorithm}:${hex}`;
  checks.unshift({ kind: "digest-file", detail: `${fileNameOf(checksumUrl)} lists ${fileNameOf(url)}`, source: checksumUrl });
  try {
    const written = await downloadToCache(url, { label, integrity: digestToIntegrity(expected) }, contexts.bytes);
    // a keyless signature over the artifact itself (Kubernetes) is checked on the downloaded bytes
    checks.push(...(await sigstoreChecks(entry.sigstore, { label, version, arch, file: written.path }, contexts.sigstore)));
    const unsigned = checks.some((check) => check.kind === "signature") ? undefined : UNSIGNED;
    return { name: entry.name, version, arch, url, digest: expected, size: written.size, checksum: { url: checksumUrl, format: entry.checksum.format, from }, note: undefined, trust, checks, unsigned };
  } catch (error) {
    if (error instanceof WorkError && error.code === "EINTEGRITY") {
      throw new WorkError(
        "EINTEGRITY",
        `${label}: ${typeof error.data.url === "string" ? error.data.url : url} does not match upstream's checksum file ${from}: expected ${expected}, found ${typeof error.data.found === "string" ? error.data.found : "?"}`,
        { ...error.data, name: entry.name, url, checksumUrl: from, expected },
        { cause: error },
      );
    }
    throw error;
  }
}

export async function writeAtomically(file: string, text: string): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomUUID()}.tmp`);
  try {
    await writeFile(tmp, text);
    await rename(tmp, file);
  } finally {
    await rm(tmp, { force: true });
  }
}

export async function pinDependency(options: PinOptions): Promise<PinResult> {
  const { name, version } = parsePinSpec(options.spec);
  const entries = resolveCatalogName(name);
  const manifests = await loadManifests(options.manifestsDir, { kinds: options.kinds, arches: options.arches });
  const targets: Target[] = manifests.flatMap((manifest) => entries.filter((entry) => entry.kinds.includes(manifest.kind)).map((entry) => ({ manifest, entry })));
  if (targets.length === 0) {
    throw new UsageError(`no selected manifest needs ${name} (it is for ${[...new Set(entries.flatMap((e) => e.kinds))].join(", ")})`, "EUSAGE");
  }
  const context = downloadContext(options);
  const independent = options.mirror ? downloadContext({ ...options, mirror: options.checksumsFrom }) : undefined;
  const trustDir = options.trustDir ?? DEFAULT_TRUST_DIR;
  const indexCacheDir = await mkdtemp(path.join(tmpdir(), "pp-pin-index-"));
  try {
    const contexts: PinContexts = {
      bytes: context,
      independent,
      trustMirror: options.trustMirror === true,
      trustDir,
      sigstore: {
        primary: independent ?? context,
        fallback: independent ? context : undefined,
        trustDir: options.sigstoreTrustDir ?? (options.trustDir ? path.join(options.trustDir, "sigstore") : undefined),
      },
      indexCacheDir,
    };
    return await pinTargets(options, version, manifests, targets, contexts);
  } finally {
    await rm(indexCacheDir, { recursive: true, force: true });
  }
}

async function pinTargets(options: PinOptions, version: string, manifests: Manifest[], targets: Target[], contexts: PinContexts): Promise<PinResult> {
  // one download per dependency and arch, shared by the knd and knc manifests
  const wanted = new Map<string, { entry: CatalogEntry; arch: Arch }>();
  for (const t of targets) wanted.set(`${t.entry.name}@${t.manifest.arch}`, { entry: t.entry, arch: t.manifest.arch });
  const limit = pLimit(4);
  const settled = await Promise.allSettled(
    [...wanted.values()].map(({ entry, arch }) =>
      limit(async () => {
        options.onProgress?.(`${entry.name} ${version} ${arch}: downloading ${redactUrls(entry.url(version, arch))}`);
        const pinned = await pinOne(entry, version, arch, contexts);
        const vouched = pinned.trust === "mirror" ? "; ONLY THE MIRROR vouches for this digest (--trust-mirror)" : "";
        const checked = pinned.checks.length > 0 ? `; checks: ${describeChecks(pinned.checks)}` : `; ${pinned.note ?? "no checks"}`;
        options.onProgress?.(`${entry.name} ${version} ${arch}: ${pinned.digest} (${pinned.size} bytes)${checked}${pinned.unsigned ? `; no signature: ${pinned.unsigned}` : ""}${vouched}`);
        return pinned;
      }),
    ),
  );
  const pins = valuesOrThrow(settled, (failed) => `${failed} downloads failed; no manifest was changed`);

  const { pinInManifestText } = await import("./edit.js"); // jsonc-parser: only pin needs it
  const files: PinResult["files"] = [];
  for (const manifest of manifests) {
    const mine = targets.filter((t) => t.manifest === manifest);
    if (mine.length === 0) continue;
    let text = await readFile(manifest.file, "utf8");
    const changed: string[] = [];
    for (const { entry } of mine) {
      const pin = pins.find((p) => p.name === entry.name && p.arch === manifest.arch);
      if (!pin) continue;
      const result = pinInManifestText(text, entry.name, { version, url: pin.url, type: entry.type, digest: pin.digest, size: pin.size, trust: pin.trust });
      text = result.text;
      changed.push(...result.changed.map((field) => `${entry.name}.${field}`));
    }
    if (changed.length === 0) {
      files.push({ file: manifest.file, changed });
      continue;
    }
    const check = parseManifest(manifest.file, text);
    if (!check.manifest) throw new WorkError("EMANIFEST", `pinning would make ${manifest.file} invalid: ${check.problems.join("; ")}`, { file: manifest.file });
    await writeAtomically(manifest.file, text);
    files.push({ file: manifest.file, changed });
  }
  return { pins, files };
}
