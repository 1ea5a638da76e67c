// Debian version ordering, as dpkg defines it (deb-version(7)): [epoch:]upstream[-revision].
// Epochs compare as integers; upstream and revision each compare by alternating runs of
// non-digits (character by character: letters before everything else, `~` before even the end
// of the string, so 1.0~rc1 < 1.0) and digits (as integers, leading zeros ignored). A version
// with no revision compares as if its revision were "0" would (an empty run).
import { UsageError } from "../errors/index.js";

export interface DebianVersion {
  epoch: number;
  upstream: string;
  revision: string;
}

const UPSTREAM = /^[0-9][A-Za-z0-9.+~:-]*$/;
const REVISION = /^[A-Za-z0-9.+~]+$/;

/** Splits a version into its parts; a usage error naming the version when it is malformed. */
export function parseDebianVersion(version: string): DebianVersion {
  const text = version.trim();
  const colon = text.indexOf(":");
  let epoch = 0;
  let rest = text;
  if (colon >= 0) {
    const digits = text.slice(0, colon);
    if (!/^\d+$/.test(digits)) throw new UsageError(`not a Debian version: ${JSON.stringify(version)} (the epoch before ":" must be a number)`, "EVERSION");
    epoch = Number(digits);
    rest = text.slice(colon + 1);
  }
  const dash = rest.lastIndexOf("-");
  const upstream = dash >= 0 ? rest.slice(0, dash) : rest;
  const revision = dash >= 0 ? rest.slice(dash + 1) : "";
  // A colon is only allowed in the upstream part when there is an epoch; a hyphen only when there is a revision.
  const upstreamOk = UPSTREAM.test(upstream) && (colon >= 0 || !upstream.includes(":")) && (dash >= 0 || !upstream.includes("-"));
  if (!upstreamOk || (dash >= 0 && !REVISION.test(revision))) {
    throw new UsageError(`not a Debian version: ${JSON.stringify(version)} (expected [epoch:]upstream[-revision], upstream starting with a digit)`, "EVERSION");
  }
  return { epoch, upstream, revision };
}

/** dpkg's weight of one character in a non-digit run; `undefined` is the end of the string. */
function order(c: string | undefined): number {
  if (c === undefined) return 0;
  if (c >= "0" && c <= "9") return 0;
  if ((c >= "A" && c <= "Z") || (c >= "a" && c <= "z")) return c.charCodeAt(0);
  if (c === "~") return -1;
  return c.charCodeAt(0) + 256;
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= "0" && c <= "9";
}

/** dpkg's verrevcmp: compares one upstream or revision part. */
function comparePart(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    // the non-digit run, character by character
    while ((i < a.length && !isDigit(a[i])) || (j < b.length && !isDigit(b[j]))) {
      const ac = order(a[i]);
      const bc = order(b[j]);
      if (ac !== bc) return Math.sign(ac - bc);
      i++;
      j++;
    }
    // the digit run, as a number
    while (a[i] === "0") i++;
    while (b[j] === "0") j++;
    let firstDiff = 0;
    while (isDigit(a[i]) && isDigit(b[j])) {
      if (firstDiff === 0) firstDiff = (a.charCodeAt(i) - b.charCodeAt(j));
      i++;
      j++;
    }
    if (isDigit(a[i])) return 1;
    if (isDigit(b[j])) return -1;
    if (firstDiff !== 0) return Math.sign(firstDiff);
  }
  return 0;
}

/** <0, 0 or >0 as `a` sorts before, with or after `b` (dpkg --compare-versions). */
export function compareDebianVersions(a: string | DebianVersion, b: string | DebianVersion): number {
  const x = typeof a === "string" ? parseDebianVersion(a) : a;
  const y = typeof b === "string" ? parseDebianVersion(b) : b;
  if (x.epoch !== y.epoch) return x.epoch < y.epoch ? -1 : 1;
  return comparePart(x.upstream, y.upstream) || comparePart(x.revision, y.revision);
}

/** The version without its epoch: what a .deb's file name (and so the lock manifest) carries. */
export function withoutEpoch(version: string): string {
  const v = parseDebianVersion(version);
  return v.revision ? `${v.upstream}-${v.revision}` : v.upstream;
}
