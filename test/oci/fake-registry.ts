// An in-process registry on 127.0.0.1 for what a real one cannot be made to do: demand a bearer
// token, redirect blobs to storage on another host, serve tampered or oversized content. Built
// on the shared fixture server (every request counted) with routes per manifest and blob.
import type http from "node:http";
import { startFixtureServer, type FixtureServer, type Handler } from "../fixtures/http-server.js";
import { mediaTypeOf } from "../../pipeline/oci/index.js";
import type { FixtureImage } from "./image-fixture.js";

export interface FakeRegistryOptions {
  /** Require `Authorization: Bearer <token>` obtained from /token. */
  token?: string;
  /** Serve blobs by a 307 to this server (blob storage on another host). */
  blobStorage?: FixtureServer;
  tag?: string;
}

export interface FakeRegistry {
  server: FixtureServer;
  /** `127.0.0.1:PORT`, the registry part of an image reference. */
  registry: string;
  /** Authorization headers seen, by path. */
  authorizations: { path: string; authorization: string | undefined }[];
  /** Replaces what is served at /v2/<repo>/<kind>/<ref>. */
  override(repository: string, kind: "manifests" | "blobs", reference: string, handler: Handler): void;
  close(): Promise<void>;
}

function send(body: Buffer, contentType: string, digest?: string): Handler {
  return (req, res) => {
    res.writeHead(200, { "content-type": contentType, "content-length": body.length, ...(digest ? { "docker-content-digest": digest } : {}) });
    res.end(req.method === "HEAD" ? undefined : body);
  };
}

export async function startFakeRegistry(repository: string, image: FixtureImage, options: FakeRegistryOptions = {}): Promise<FakeRegistry> {
  const server = await startFixtureServer();
  const authorizations: FakeRegistry["authorizations"] = [];
  const guarded = (path: string, handler: Handler): Handler => (req, res, hit) => {
    authorizations.push({ path, authorization: req.headers.authorization });
    if (options.token && req.headers.authorization !== `Bearer ${options.token}`) {
      res.writeHead(401, { "www-authenticate": `Bearer realm="${server.url}/token",service="fake-registry",scope="repository:${repository}:pull"`, "content-type": "application/json" });
      res.end('{"errors":[{"code":"UNAUTHORIZED"}]}');
      return;
    }
    handler(req, res, hit);
  };
  const route = (path: string, handler: Handler) => server.route(path, guarded(path, handler));
  if (options.token) {
    const token = options.token;
    server.route("/token", (req: http.IncomingMessage, res) => {
      const query = new URL(req.url ?? "/", server.url).searchParams;
      const ok = query.get("service") === "fake-registry" && query.get("scope") === `repository:${repository}:pull`;
      res.writeHead(ok ? 200 : 400, { "content-type": "application/json" });
      res.end(JSON.stringify(ok ? { token } : { error: "bad scope" }));
    });
  }
  for (const [digest, bytes] of image.manifests) route(`/v2/${repository}/manifests/${digest}`, send(bytes, mediaTypeOf(bytes), digest));
  route(`/v2/${repository}/manifests/${options.tag ?? "3.10.2"}`, send(image.index, mediaTypeOf(image.index), image.indexDigest));
  for (const [digest, bytes] of image.blobs) {
    const storage = options.blobStorage;
    if (storage) {
      const where = `/storage/${digest.slice(7)}`;
      storage.route(where, (req, res) => {
        authorizations.push({ path: where, authorization: req.headers.authorization });
        send(bytes, "application/octet-stream")(req, res, 0);
      });
      route(`/v2/${repository}/blobs/${digest}`, (_req, res) => {
        res.writeHead(307, { location: `${storage.url}${where}?X-Amz-Signature=abc` });
        res.end();
      });
    } else {
      route(`/v2/${repository}/blobs/${digest}`, send(bytes, "application/octet-stream", digest));
    }
  }
  return {
    server,
    registry: `${server.host}:${server.port}`,
    authorizations,
    override: (repo, kind, reference, handler) => route(`/v2/${repo}/${kind}/${reference}`, handler),
    close: () => server.close(),
  };
}
