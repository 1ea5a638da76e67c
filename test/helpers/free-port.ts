// A free TCP port on 127.0.0.1 for a test server that must be told its port (moto, a registry, a
// stand-in's listener): bound, then released. Racy by nature: another process could take it
// before the server binds it, which on a test machine's loopback is rare enough.
import net from "node:net";

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}
