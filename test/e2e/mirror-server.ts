// The e2e suites' mirror: `podplane-images mirror serve` of a stand-in mirror tree on a free
// port of 127.0.0.1, as a user would run it; the URL is read from its --json line.
import { execa, type ResultPromise } from "execa";

export interface MirrorServer {
  url: string;
  stop(): Promise<void>;
}

export async function serveMirrorWithCli(cli: string, mirrorDir: string): Promise<MirrorServer> {
  const server: ResultPromise = execa("node", [cli, "mirror", "serve", mirrorDir, "--port", "0", "--json"], { stdin: "ignore", reject: false, buffer: false });
  const url = await new Promise<string>((resolve, reject) => {
    let text = "";
    server.stdout?.on("data", (chunk: Buffer) => {
      text += chunk.toString();
      const match = /http:\/\/127\.0\.0\.1:\d+/.exec(text);
      if (match) resolve(match[0]);
    });
    void server.then((r) => reject(new Error(`mirror serve exited: ${String(r.stderr ?? "")}`)));
  });
  return {
    url,
    stop: async () => {
      server.kill("SIGINT");
      await server;
    },
  };
}
