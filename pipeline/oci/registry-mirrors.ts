// Registry mirrors (`--registry-mirror REGISTRY=URL`), as containerd's hosts.toml mirrors them:
// an image of REGISTRY is read from URL's own `/v2/<repository>/...` API under the same
// repository name (a local distribution registry, a pull-through cache), instead of from
// REGISTRY or from the `--mirror` tree. Only where the bytes come from changes: every digest and
// size is checked exactly as for the registry itself.
import { UsageError } from "../errors/index.js";
import { isLoopbackRegistry, isRegistryName } from "./reference.js";

/** Registry name (`registry.k8s.io`) → the mirror's base URL, without a trailing slash. */
export type RegistryMirrors = ReadonlyMap<string, string>;

export interface RegistryMirror {
  registry: string;
  url: string;
}

function bad(value: string, why: string): UsageError {
  return new UsageError(`--registry-mirror ${JSON.stringify(value)}: ${why}; expected REGISTRY=URL, e.g. registry.k8s.io=http://127.0.0.1:5000`, "EUSAGE");
}

/** One `REGISTRY=URL`, checked; a bad value is a usage error naming it. */
export function parseRegistryMirror(value: string): RegistryMirror {
  const at = value.indexOf("=");
  if (at < 0) throw bad(value, "no `=`");
  const registry = value.slice(0, at).trim().toLowerCase();
  const raw = value.slice(at + 1).trim();
  if (!registry) throw bad(value, "the registry is empty");
  if (!raw) throw bad(value, "the URL is empty");
  if (!isRegistryName(registry)) throw bad(value, `${JSON.stringify(registry)} is not a registry as image references name it (a host and optional port)`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw bad(value, `${JSON.stringify(raw)} is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw bad(value, `the URL must be http:// or https://, not ${url.protocol}`);
  // fetch() refuses URLs with credentials, and a registry's own auth is its bearer challenge.
  if (url.username || url.password) throw bad(value, "credentials in the URL are not supported (a registry mirror is read anonymously)");
  if (url.search || url.hash) throw bad(value, "the URL must be a base URL, without a query or fragment");
  // Plain HTTP only to this machine, as for a registry itself: `pin image` and `bump` take a
  // tag's digest from the answer, which nothing else vouches for, so it must not cross a network
  // unauthenticated. (Blobs and pinned manifests would be safe: their digests are checked.)
  if (url.protocol === "http:" && !isLoopbackRegistry(url.host)) throw bad(value, `plain http:// is only for a loopback host (localhost, 127.x.x.x, [::1]); use https:// for ${url.host}`);
  return { registry, url: `${url.origin}${url.pathname.replace(/\/+$/, "")}` };
}

/** Adds the comma-separated `REGISTRY=URL` items of `value` to `previous`; a registry given twice is a usage error. */
export function addRegistryMirrors(value: string, previous: RegistryMirrors | undefined): Map<string, string> {
  const mirrors = new Map(previous ?? []);
  const items = value.split(",").map((item) => item.trim());
  if (items.every((item) => item === "")) throw bad(value, "nothing given");
  for (const item of items.filter(Boolean)) {
    const { registry, url } = parseRegistryMirror(item);
    const earlier = mirrors.get(registry);
    if (earlier !== undefined) throw bad(item, `${registry} already has a registry mirror (${earlier}); give each registry once`);
    mirrors.set(registry, url);
  }
  return mirrors;
}

/** For `--json` documents: `{registry: url}`. */
export function registryMirrorsJson(mirrors: RegistryMirrors | undefined): Record<string, string> {
  return Object.fromEntries(mirrors ?? []);
}
