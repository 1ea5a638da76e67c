// The one mapping from an upstream URL to where a mirror holds it: `<mirror>/<host>/<path>`,
// the layout `wget -x` makes. A mirror is a base URL (http/https), a file:// URL or a directory.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { redactUrls } from "./redact.js";

export type ArtifactSource = { kind: "http"; url: string } | { kind: "file"; path: string };

/** `dl.k8s.io/release/v1.36.1/bin/linux/amd64/kubelet`: the upstream URL's place in a mirror tree (decoded). */
export function mirrorRelativePath(upstreamUrl: string): string {
  const url = new URL(upstreamUrl);
  const segments = url.pathname.split("/").filter(Boolean).map((segment) => decodeURIComponent(segment));
  if (segments.some((segment) => segment === ".." || segment === "." || segment.includes("/"))) {
    throw new TypeError(`cannot map ${upstreamUrl} into a mirror: unsafe path`);
  }
  return path.posix.join(url.host, ...segments);
}

function isHttpUrl(value: string): boolean {
  return /^https?:\/\//i.test(value);
}

/** Where to read `upstreamUrl` from: upstream itself without a mirror, else the mirror's copy. */
export function resolveSource(upstreamUrl: string, mirror?: string): ArtifactSource {
  if (!mirror) return { kind: "http", url: upstreamUrl };
  if (isHttpUrl(mirror)) {
    const url = new URL(upstreamUrl);
    return { kind: "http", url: `${mirror.replace(/\/+$/, "")}/${url.host}${url.pathname}` };
  }
  const dir = mirror.startsWith("file:") ? fileURLToPath(mirror) : path.resolve(mirror);
  return { kind: "file", path: path.join(dir, ...mirrorRelativePath(upstreamUrl).split("/")) };
}

/** How a source is shown in progress, errors and logs: credentials in the URL redacted. */
export function describeSource(source: ArtifactSource): string {
  return source.kind === "http" ? redactUrls(source.url) : source.path;
}
