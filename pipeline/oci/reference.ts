// Image references as the lock manifests write them (`registry.k8s.io/pause:3.10.2`): always a
// registry host, a repository and a tag, no Docker Hub shorthand. A registry on loopback is
// spoken to over plain HTTP, as container tools do; every other one over HTTPS.
import { UsageError } from "../errors/index.js";

export interface ImageReference {
  /** `registry.k8s.io` or `127.0.0.1:5000` */
  registry: string;
  /** `pause`, `library/busybox` */
  repository: string;
  tag: string;
  /** The reference as written. */
  ref: string;
}

/** A registry as references name it: a host (or bracketed IPv6 address) and an optional port. */
const REGISTRY = /[a-z0-9.-]+(?::\d+)?|\[[0-9a-f:]+\](?::\d+)?/;
const REFERENCE = new RegExp(`^(${REGISTRY.source})\\/([a-z0-9._/-]+):([\\w][\\w.-]{0,127})$`);

/** Whether `value` is a registry the way an image reference names one (`registry.k8s.io`, `127.0.0.1:5000`). */
export function isRegistryName(value: string): boolean {
  return new RegExp(`^(?:${REGISTRY.source})$`).test(value);
}

export function parseImageReference(ref: string): ImageReference {
  const match = REFERENCE.exec(ref.trim());
  if (!match?.[1] || !match[2] || !match[3] || match[2].split("/").some((part) => part === "" || part === "." || part === "..")) {
    throw new UsageError(`expected an image reference REGISTRY/REPOSITORY:TAG (e.g. registry.k8s.io/pause:3.10.2), found ${JSON.stringify(ref)}`, "EUSAGE");
  }
  return { registry: match[1], repository: match[2], tag: match[3], ref: ref.trim() };
}

/** The registry's host name without port or brackets. */
function hostOf(registry: string): string {
  if (registry.startsWith("[")) return registry.slice(1, registry.indexOf("]"));
  return registry.replace(/:\d+$/, "");
}

export function isLoopbackRegistry(registry: string): boolean {
  const host = hostOf(registry);
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** `https://registry.k8s.io`, or `http://127.0.0.1:5000` for a loopback registry. */
export function registryBaseUrl(registry: string): string {
  return `${isLoopbackRegistry(registry) ? "http" : "https"}://${registry}`;
}
