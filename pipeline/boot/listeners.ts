// The host side of the test VM's only ways out: loopback listeners the guest reaches through
// explicit QEMU guest forwards (`restrict=on` allows nothing else). One stands where Nstance's
// registration and agent addresses are (the user-data waits for a TCP connection there); one is
// the download sentinel: names a download would use resolve to it in the guest, and it records
// every connection with the first line it carried, so a download attempt is seen, not assumed.
import net from "node:net";

export interface Listener {
  port: number;
  close(): Promise<void>;
}

export interface CountingListener extends Listener {
  connections(): number;
}

export interface SentinelListener extends Listener {
  /** Connections so far, each with the guest port it was made to and its first line. */
  connections(): Array<{ port: number; firstLine: string }>;
}

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      resolve(typeof address === "object" && address ? address.port : 0);
    });
  });
}

function closer(server: net.Server, sockets: Set<net.Socket>): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
}

/** Accepts and counts TCP connections and says nothing (a reachable stand-in for an Nstance address). */
export async function startCountingListener(): Promise<CountingListener> {
  let count = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    count++;
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.on("close", () => sockets.delete(socket));
    // Let the peer see an open connection, then end it: nothing here speaks Nstance's protocol.
    setTimeout(() => socket.end(), 1000).unref();
  });
  const port = await listen(server);
  return { port, connections: () => count, close: closer(server, sockets) };
}

/**
 * The download sentinel. `guestPort` tells which guest port a connection came in on (one host
 * listener per guest port). The canary path gets 204, anything else 404 (HTTP) or a close (TLS).
 */
export async function startSentinel(guestPorts: readonly number[], canaryPath: string): Promise<SentinelListener & { ports: Map<number, number> }> {
  const seen: Array<{ port: number; firstLine: string }> = [];
  const sockets = new Set<net.Socket>();
  const servers: net.Server[] = [];
  const ports = new Map<number, number>();
  for (const guestPort of guestPorts) {
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => undefined);
      socket.on("close", () => sockets.delete(socket));
      let first = "";
      let recorded = false;
      const record = (): void => {
        if (recorded) return;
        recorded = true;
        // A TLS ClientHello is binary: keep only what is printable.
        seen.push({ port: guestPort, firstLine: first.split("\r\n")[0]?.replace(/[^\x20-\x7e]/g, ".").slice(0, 200) ?? "" });
      };
      socket.on("data", (chunk: Buffer) => {
        first += chunk.toString("latin1");
        if (!first.includes("\r\n") && first.length < 512) return;
        record();
        const canary = first.startsWith(`GET ${canaryPath} `);
        socket.end(canary ? "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n" : "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
      });
      socket.on("end", record);
      setTimeout(() => socket.destroy(), 10_000).unref();
    });
    ports.set(guestPort, await listen(server));
    servers.push(server);
  }
  return {
    port: ports.get(guestPorts[0] ?? 80) ?? 0,
    ports,
    connections: () => [...seen],
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    },
  };
}

/** A QEMU guestfwd rule: the guest's `address:port` reaches 127.0.0.1:`hostPort` (socat per connection, so parallel ones work). */
export function guestForward(address: string, port: number, hostPort: number): string {
  return `tcp:${address}:${port}-cmd:socat STDIO TCP:127.0.0.1:${hostPort}`;
}
