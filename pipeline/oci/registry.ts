// Talking to a registry (or a mirror of one) with the OCI distribution API: GET
// /v2/<repo>/manifests|blobs/<reference>. Anonymous bearer tokens when a registry asks for
// them (401 + WWW-Authenticate: Bearer realm,service,scope → GET the realm → retry once);
// redirects (blob storage) followed by hand so the Authorization header never leaves the
// registry's own origin. A mirror over HTTP is the same API under <mirror>/<registry>; a mirror
// directory is read from disk at the same paths, so a static web server can serve it. A registry
// mirror (--registry-mirror) is a registry in its own right: the same API at its own /v2/.
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { WorkError } from "../errors/index.js";
import { redactUrls } from "../fetch/redact.js";
import { registryBaseUrl } from "./reference.js";
import type { RegistryMirrors } from "./registry-mirrors.js";

export type ContentKind = "manifests" | "blobs";

export interface OpenedContent {
  stream: Readable;
  /** Content-Length (or file size) when known. */
  length: number | undefined;
  contentType: string | undefined;
  /** Where the bytes came from, credentials redacted (for messages). */
  url: string;
}

export interface OpenRequest {
  kind: ContentKind;
  /** A digest, or a tag (manifests only; `pin image`). */
  reference: string;
  accept?: string | undefined;
  label: string;
  signal?: AbortSignal | undefined;
  timeoutMs: number;
}

export interface RegistrySource {
  /** How a path is shown: the URL (or file) a request for it goes to. */
  describe(kind: ContentKind, reference: string): string;
  open(request: OpenRequest): Promise<OpenedContent>;
}

/** `<registry>/v2/<repository>/<kind>/<reference>`: where a mirror holds a manifest or blob. */
export function mirrorContentPath(registry: string, repository: string, kind: ContentKind, reference: string): string {
  return path.posix.join(registry, "v2", repository, kind, reference);
}

/** An HTTP failure shaped like got's, so the one retry rule (fetch/retry.ts) applies: 5xx and 429 are retried. */
function httpError(status: number, url: string, label: string): Error {
  if (status === 404 || status === 410) {
    return new WorkError("ENOTFOUND", `${label}: not found (HTTP ${status}): ${redactUrls(url)}`, { label, url: redactUrls(url), status });
  }
  if (status < 500 && status !== 429) {
    return new WorkError("EHTTP", `${label}: HTTP ${status} from ${redactUrls(url)}`, { label, url: redactUrls(url), status });
  }
  return Object.assign(new Error(`${label}: HTTP ${status} from ${redactUrls(url)}`), { code: "ERR_NON_2XX_3XX_RESPONSE", response: { statusCode: status } });
}

/** undici's "fetch failed" with the socket's code lifted up, so ECONNRESET etc. are retriable. */
function networkError(error: unknown, url: string, label: string): Error {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code ?? (error as { code?: string }).code ?? "ENETWORK";
  const message = cause?.message ?? (error instanceof Error ? error.message : String(error));
  return Object.assign(new Error(`${label}: ${code} fetching ${redactUrls(url)}: ${message}`), { code, cause: error });
}

interface Challenge {
  realm: string;
  service?: string | undefined;
  scope?: string | undefined;
}

/** `Bearer realm="https://auth",service="registry",scope="repository:x:pull"` → its parameters. */
export function parseBearerChallenge(header: string | null): Challenge | undefined {
  if (!header || !/^bearer\s/i.test(header)) return undefined;
  const params = new Map<string, string>();
  for (const match of header.slice(6).matchAll(/([a-zA-Z]+)\s*=\s*(?:"([^"]*)"|([^\s,]+))/g)) {
    params.set((match[1] ?? "").toLowerCase(), match[2] ?? match[3] ?? "");
  }
  const realm = params.get("realm");
  if (!realm) return undefined;
  return { realm, service: params.get("service"), scope: params.get("scope") };
}

const MAX_REDIRECTS = 10;

class HttpRegistry implements RegistrySource {
  private token: string | undefined;

  constructor(
    /** `https://registry.k8s.io`, or `http://mirror:8080/registry.k8s.io` for a mirror. */
    private readonly base: string,
    private readonly repository: string,
  ) {}

  describe(kind: ContentKind, reference: string): string {
    return redactUrls(`${this.base}/v2/${this.repository}/${kind}/${reference}`);
  }

  async open(request: OpenRequest): Promise<OpenedContent> {
    const url = `${this.base}/v2/${this.repository}/${request.kind}/${request.reference}`;
    let response = await this.follow(url, request);
    if (response.status === 401 && this.token === undefined) {
      const challenge = parseBearerChallenge(response.headers.get("www-authenticate"));
      if (challenge) {
        await response.body?.cancel();
        this.token = await this.fetchToken(challenge, request);
        response = await this.follow(url, request);
      }
    }
    if (response.status < 200 || response.status >= 300) {
      await response.body?.cancel();
      throw httpError(response.status, response.url || url, request.label);
    }
    const header = response.headers.get("content-length");
    const length = header !== null && /^\d+$/.test(header) ? Number(header) : undefined;
    const stream = response.body ? Readable.fromWeb(response.body) : Readable.from([]);
    return { stream, length, contentType: response.headers.get("content-type") ?? undefined, url: redactUrls(url) };
  }

  /** GET with redirects followed by hand: Authorization only ever goes to the registry's own origin. */
  private async follow(start: string, request: OpenRequest): Promise<Response> {
    const origin = new URL(start).origin;
    let url = start;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const headers: Record<string, string> = { "user-agent": "podplane-images" };
      if (request.accept) headers.accept = request.accept;
      if (this.token && new URL(url).origin === origin) headers.authorization = `Bearer ${this.token}`;
      const response = await this.get(url, headers, request);
      const location = response.headers.get("location");
      if (response.status >= 300 && response.status < 400 && location) {
        await response.body?.cancel();
        url = new URL(location, url).toString();
        continue;
      }
      return response;
    }
    throw new WorkError("EHTTP", `${request.label}: more than ${MAX_REDIRECTS} redirects from ${redactUrls(start)}`, { label: request.label, url: redactUrls(start) });
  }

  private async get(url: string, headers: Record<string, string>, request: OpenRequest): Promise<Response> {
    // A response timeout: the headers must arrive in time (the body has its own idle check in the caller).
    const timeout = AbortSignal.timeout(request.timeoutMs);
    const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
    try {
      return await fetch(url, { headers, redirect: "manual", signal });
    } catch (error) {
      if (request.signal?.aborted) throw error;
      if (timeout.aborted) throw Object.assign(new Error(`${request.label}: no response from ${redactUrls(url)} in ${request.timeoutMs} ms`), { code: "ETIMEDOUT" });
      throw networkError(error, url, request.label);
    }
  }

  /** An anonymous pull token from the realm the registry named. */
  private async fetchToken(challenge: Challenge, request: OpenRequest): Promise<string> {
    const url = new URL(challenge.realm);
    if (challenge.service) url.searchParams.set("service", challenge.service);
    url.searchParams.set("scope", challenge.scope ?? `repository:${this.repository}:pull`);
    const response = await this.get(url.toString(), { "user-agent": "podplane-images", accept: "application/json" }, request);
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new WorkError("EAUTH", `${request.label}: the registry asked for a token, and ${redactUrls(challenge.realm)} answered HTTP ${response.status}`, { label: request.label, url: redactUrls(challenge.realm), status: response.status });
    }
    const body = (await response.json().catch(() => ({}))) as { token?: unknown; access_token?: unknown };
    const token = typeof body.token === "string" ? body.token : typeof body.access_token === "string" ? body.access_token : undefined;
    if (!token) throw new WorkError("EAUTH", `${request.label}: ${redactUrls(challenge.realm)} answered without a token`, { label: request.label, url: redactUrls(challenge.realm) });
    return token;
  }
}

class DirectoryMirror implements RegistrySource {
  constructor(
    private readonly root: string,
    private readonly registry: string,
    private readonly repository: string,
  ) {}

  private file(kind: ContentKind, reference: string): string {
    return path.join(this.root, ...mirrorContentPath(this.registry, this.repository, kind, reference).split("/"));
  }

  describe(kind: ContentKind, reference: string): string {
    return this.file(kind, reference);
  }

  async open(request: OpenRequest): Promise<OpenedContent> {
    const file = this.file(request.kind, request.reference);
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) throw new WorkError("ENOTFOUND", `${request.label}: not found (no such file in the mirror): ${file}`, { label: request.label, url: file });
    return { stream: createReadStream(file, { highWaterMark: 1024 * 1024, signal: request.signal }), length: info.size, contentType: undefined, url: file };
  }
}

/** Where images come from: a mirror tree for every registry, and registry mirrors for some. */
export interface ImageSources {
  mirror?: string | undefined;
  registryMirrors?: RegistryMirrors | undefined;
}

/**
 * Where an image's content is read from: the registry mirror of its registry (which takes
 * precedence, as a containerd hosts.toml mirror does), else the mirror tree's copy, else the
 * registry itself.
 */
export function registrySource(registry: string, repository: string, sources: ImageSources = {}): RegistrySource {
  const registryMirror = sources.registryMirrors?.get(registry);
  if (registryMirror !== undefined) return new HttpRegistry(registryMirror, repository);
  const mirror = sources.mirror;
  if (!mirror) return new HttpRegistry(registryBaseUrl(registry), repository);
  if (/^https?:\/\//i.test(mirror)) return new HttpRegistry(`${mirror.replace(/\/+$/, "")}/${registry}`, repository);
  const dir = mirror.startsWith("file:") ? fileURLToPath(mirror) : path.resolve(mirror);
  return new DirectoryMirror(dir, registry, repository);
}
