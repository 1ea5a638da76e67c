// A static file server on 127.0.0.1 for the benchmark's mirror: GET/HEAD of files under a
// directory, streamed, nothing else. Counts requests.
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import http from "node:http";
import path from "node:path";

export interface StaticServer {
  url: string;
  port: number;
  requests: () => number;
  close: () => Promise<void>;
}

export async function serveDirectory(root: string): Promise<StaticServer> {
  let count = 0;
  const server = http.createServer((req, res) => {
    count++;
    const file = path.join(root, decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname));
    if (!file.startsWith(`${root}${path.sep}`) || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(404).end();
      return;
    }
    stat(file).then(
      (info) => {
        if (!info.isFile()) return void res.writeHead(404).end();
        res.writeHead(200, { "content-length": info.size, "content-type": "application/octet-stream" });
        if (req.method === "HEAD") return void res.end();
        createReadStream(file).pipe(res);
      },
      () => void res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests: () => count,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
