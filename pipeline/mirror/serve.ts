// mirror serve: a static file server for a mirror tree, on loopback by default. GET and HEAD
// only; a path outside the tree or a missing file is a 404.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { WorkError } from "../errors/index.js";
import { mediaTypeOf, MAX_MANIFEST_BYTES } from "../oci/media.js";

const MANIFEST_PATH = /\/v2\/.+\/manifests\/[^/]+$/;
const BLOB_PATH = /\/v2\/.+\/blobs\/(sha256:[0-9a-f]{64})$/;

/**
 * Headers for a file of the image layout (<registry>/v2/<repo>/manifests|blobs/<ref>): a manifest
 * or index goes out with its own media type (a client picks its parser by it) and every piece with
 * Docker-Content-Digest, as a registry sends them. Anything else is plain bytes.
 */
async function headersFor(file: string, urlPath: string, size: number): Promise<Record<string, string | number>> {
  const plain = { "content-type": "application/octet-stream", "content-length": size };
  const blob = BLOB_PATH.exec(urlPath);
  if (blob?.[1]) return { ...plain, "docker-content-digest": blob[1] };
  if (!MANIFEST_PATH.test(urlPath) || size > MAX_MANIFEST_BYTES) return plain;
  const bytes = await readFile(file);
  const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
  return { "content-type": mediaTypeOf(bytes), "content-length": size, "docker-content-digest": digest };
}

export interface MirrorServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

async function resolveFile(root: string, urlPath: string): Promise<string | undefined> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath.split("?")[0] ?? "/");
  } catch {
    return undefined;
  }
  const file = path.resolve(root, `.${path.posix.normalize(`/${decoded}`)}`);
  if (file !== root && !file.startsWith(`${root}${path.sep}`)) return undefined;
  try {
    return (await stat(file)).isFile() ? file : undefined;
  } catch {
    return undefined;
  }
}

export async function serveMirror(options: { dir: string; port?: number; host?: string; log?: (line: string) => void }): Promise<MirrorServer> {
  const root = path.resolve(options.dir);
  const host = options.host ?? "127.0.0.1";
  const server = http.createServer((req, res) => {
    void (async () => {
      const file = req.method === "GET" || req.method === "HEAD" ? await resolveFile(root, req.url ?? "/") : undefined;
      if (!file) {
        res.writeHead(req.method === "GET" || req.method === "HEAD" ? 404 : 405, { "content-type": "text/plain" });
        res.end("not found\n");
        options.log?.(`404 ${req.method ?? ""} ${req.url ?? ""}`);
        return;
      }
      const { size } = await stat(file);
      res.writeHead(200, await headersFor(file, decodeURIComponent((req.url ?? "/").split("?")[0] ?? "/"), size));
      options.log?.(`200 ${req.method ?? ""} ${req.url ?? ""} ${size}`);
      if (req.method === "HEAD") return res.end();
      createReadStream(file, { highWaterMark: 1024 * 1024 })
        .on("error", () => res.destroy())
        .pipe(res);
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => {
      reject(new WorkError(error.code ?? "ELISTEN", `cannot serve ${root} on ${host}:${options.port ?? 0}: ${error.message}`, { host, port: options.port }, { cause: error }));
    });
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
