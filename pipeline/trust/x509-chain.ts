// Certificate path validation against pinned roots, at a given instant (the signing time, not
// "now": a Fulcio leaf lives 10 minutes, so it has always expired by the time anyone pins).
// Node's X509Certificate checks one signature at a time; the path is built here: leaf, then
// issuers from the supplied intermediates and the pinned ones, ending at a pinned root.
import { X509Certificate } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";

export interface TrustAnchors {
  /** Self-signed CA certificates: a path must end at one of these. */
  roots: X509Certificate[];
  /** Pinned intermediates (a cosign .cert carries no chain). */
  intermediates: X509Certificate[];
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

export function parsePemCertificates(text: string, source: string): X509Certificate[] {
  const blocks = text.match(PEM_CERT) ?? [];
  if (blocks.length === 0) throw new Error(`${source}: no PEM certificate in it`);
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      throw new Error(`${source}: certificate ${i + 1} does not parse (${error instanceof Error ? error.message : String(error)})`, { cause: error });
    }
  });
}

function selfSigned(cert: X509Certificate): boolean {
  return cert.checkIssued(cert) && cert.verify(cert.publicKey);
}

/** Every certificate of every `*.pem` in `dir`: self-signed CAs are roots, the rest intermediates. */
export async function loadTrustAnchors(dir: string): Promise<TrustAnchors> {
  const files = (await readdir(dir)).filter((f) => f.endsWith(".pem")).sort();
  const anchors: TrustAnchors = { roots: [], intermediates: [] };
  for (const file of files) {
    const full = path.join(dir, file);
    for (const cert of parsePemCertificates(await readFile(full, "utf8"), full)) {
      if (!cert.ca) throw new Error(`${full}: ${cert.subject.replace(/\n/g, ", ")} is not a CA certificate`);
      (selfSigned(cert) ? anchors.roots : anchors.intermediates).push(cert);
    }
  }
  if (anchors.roots.length === 0) throw new Error(`${dir}: no root certificate (a self-signed CA in a *.pem file)`);
  return anchors;
}

export function oneLine(name: string): string {
  return name.replace(/\n/g, ", ");
}

export function validAt(cert: X509Certificate, at: Date): "ok" | "expired" | "not yet valid" {
  if (at.getTime() < new Date(cert.validFrom).getTime()) return "not yet valid";
  if (at.getTime() > new Date(cert.validTo).getTime()) return "expired";
  return "ok";
}

/** Why a chain is refused; `reason` is one line for the pin error. */
export class ChainError extends Error {}

const MAX_DEPTH = 4;

/**
 * The path from `leaf` to a pinned root, every issuer a CA valid at `at` whose key verifies its
 * child. `extra` are intermediates that came with the signature (a bundle's chain); they are
 * only stepping stones, trust comes from the pinned roots. The leaf's own validity is the
 * caller's check, so it can say "expired" in its own words.
 */
export function verifyChain(leaf: X509Certificate, anchors: TrustAnchors, at: Date, extra: readonly X509Certificate[] = []): X509Certificate[] {
  const rootPrints = new Set(anchors.roots.map((r) => r.fingerprint256));
  const candidates = [...anchors.roots, ...anchors.intermediates, ...extra.filter((c) => !rootPrints.has(c.fingerprint256))];
  const problems: string[] = [];
  const walk = (current: X509Certificate, pathSoFar: X509Certificate[]): X509Certificate[] | undefined => {
    if (pathSoFar.length > MAX_DEPTH) return undefined;
    for (const issuer of candidates) {
      if (pathSoFar.some((c) => c.fingerprint256 === issuer.fingerprint256) && issuer !== current) continue;
      if (!current.checkIssued(issuer) || issuer.fingerprint256 === current.fingerprint256) continue;
      const who = oneLine(issuer.subject);
      if (!current.verify(issuer.publicKey)) {
        problems.push(`${oneLine(current.subject)} names ${who} as issuer but its signature does not verify with that key`);
        continue;
      }
      if (!issuer.ca) {
        problems.push(`${who} is not a CA`);
        continue;
      }
      const state = validAt(issuer, at);
      if (state !== "ok") {
        problems.push(`${who} is ${state} at ${at.toISOString()} (valid ${issuer.validFrom} to ${issuer.validTo})`);
        continue;
      }
      const next = [...pathSoFar, issuer];
      if (rootPrints.has(issuer.fingerprint256)) return next;
      const found = walk(issuer, next);
      if (found) return found;
    }
    return undefined;
  };
  const found = walk(leaf, [leaf]);
  if (found) return found;
  const detail = problems.length > 0 ? problems.join("; ") : `no pinned root or intermediate issued ${oneLine(leaf.issuer)}`;
  throw new ChainError(`does not chain to a pinned root: ${detail}`);
}
