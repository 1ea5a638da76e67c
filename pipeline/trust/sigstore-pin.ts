// pin's entry into Sigstore: for a catalog entry that carries a keyless signature, fetch the
// signature material and verify it before the pin is trusted. A signature proves itself, so it
// is read from wherever the checksum files come from (upstream or --checksums-from) and, if not
// there, from the mirror: no --trust-mirror is needed for it.
import type { Arch } from "../manifest/index.js";
import type { SigstoreSource } from "../catalog/index.js";
import { fetchText, type DownloadContext } from "../fetch/index.js";
import { verifyDetachedSignature } from "./sigstore-blob.js";
import { verifyBundle } from "./sigstore-bundle.js";
import { loadSigstoreTrust, type SigstoreTrust } from "./sigstore-trust.js";
import type { SigstoreCheck } from "./sigstore-verify.js";

export type { SigstoreCheck } from "./sigstore-verify.js";

export interface SigstoreFetch {
  /** Where the checksum files come from. */
  primary: Omit<DownloadContext, "cacheDir" | "onEvent">;
  /** The mirror, tried when the primary does not have the file. */
  fallback?: Omit<DownloadContext, "cacheDir" | "onEvent"> | undefined;
  /** trust/sigstore by default; tests pass a directory with a test CA. */
  trustDir?: string | undefined;
  /** "Now" for the not-yet-valid check (tests). */
  now?: Date | undefined;
}

const loaded = new Map<string, Promise<SigstoreTrust>>();

function trustFrom(dir: string | undefined): Promise<SigstoreTrust> {
  const key = dir ?? "";
  let trust = loaded.get(key);
  if (!trust) {
    trust = loadSigstoreTrust(dir);
    loaded.set(key, trust);
    trust.catch(() => loaded.delete(key));
  }
  return trust;
}

async function fetchSigned(url: string, label: string, how: SigstoreFetch): Promise<{ text: string; from: string }> {
  try {
    return await fetchText(url, label, how.primary);
  } catch (error) {
    if (!how.fallback || how.primary.signal?.aborted) throw error;
    return fetchText(url, label, how.fallback);
  }
}

export interface SigstoreSubject {
  /** `kubelet 1.36.1 amd64` */
  label: string;
  version: string;
  arch: Arch;
  /** For `over: "checksum-file"`: the checksum file as read. */
  checksum?: { url: string; text: string } | undefined;
  /** For `over: "artifact"`: the downloaded file in the cache. */
  file?: string | undefined;
}

/**
 * The Sigstore checks of one artifact (or of its checksum file), or a WorkError (ESIGSTORE)
 * naming the artifact and the failed check. [] when `source` does not apply to what is given.
 */
export async function sigstoreChecks(source: SigstoreSource | undefined, subject: SigstoreSubject, how: SigstoreFetch): Promise<SigstoreCheck[]> {
  if (!source) return [];
  const trust = await trustFrom(how.trustDir);
  if (source.over === "checksum-file") {
    if (!subject.checksum) return [];
    const label = `${subject.label} checksum file`;
    const bundle = await fetchSigned(source.bundle(subject.checksum.url), `${label} Sigstore bundle`, how);
    return verifyBundle({ label, bytes: Buffer.from(subject.checksum.text, "utf8"), bundle, identity: source.identity, now: how.now }, trust);
  }
  if (!subject.file) return [];
  const signature = await fetchSigned(source.signature(subject.version, subject.arch), `${subject.label} signature`, how);
  const certificate = await fetchSigned(source.certificate(subject.version, subject.arch), `${subject.label} certificate`, how);
  return verifyDetachedSignature({ label: subject.label, content: { file: subject.file }, signature, certificate, identity: source.identity, now: how.now }, trust);
}
