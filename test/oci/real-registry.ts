// The distribution registry itself (Debian's docker-registry) on 127.0.0.1, with images pushed
// by a real client (skopeo) from an OCI layout built here: what containerd would pull from.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa, type ResultPromise } from "execa";
import { writeOciLayout, type FixtureImage } from "./image-fixture.js";
import { freePort } from "../helpers/free-port.js";

export interface RealRegistry {
  /** `127.0.0.1:PORT` */
  registry: string;
  url: string;
  push(image: FixtureImage, repository: string, tag: string): Promise<void>;
  /** Pushes the image an OCI image layout names `tag` (its index and every manifest, digests kept). */
  pushLayout(layoutDir: string, repository: string, tag: string): Promise<void>;
  /** Where the registry's filesystem storage keeps a blob (or manifest) by digest. */
  blobFile(digest: string): string;
  stop(): Promise<void>;
}

export async function startRealRegistry(dir: string): Promise<RealRegistry> {
  const port = await freePort();
  const config = path.join(dir, "registry.yml");
  await mkdir(path.join(dir, "storage"), { recursive: true });
  await writeFile(
    config,
    [
      "version: 0.1",
      "log:",
      "  level: error",
      "storage:",
      "  filesystem:",
      `    rootdirectory: ${path.join(dir, "storage")}`,
      "http:",
      `  addr: 127.0.0.1:${port}`,
      "",
    ].join("\n"),
  );
  const child: ResultPromise = execa("docker-registry", ["serve", config], { reject: false, stdio: "ignore" });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    const ok = await fetch(`${url}/v2/`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    if (child.exitCode !== undefined && child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode}`);
    if (Date.now() > deadline) {
      child.kill();
      throw new Error(`docker-registry did not answer on ${url} within 15 s`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const pushLayout = async (layout: string, repository: string, tag: string) => {
    // --all --preserve-digests: the registry holds the very index and manifests built here
    await execa("skopeo", ["copy", "--all", "--preserve-digests", "--dest-tls-verify=false", `oci:${layout}:${tag}`, `docker://127.0.0.1:${port}/${repository}:${tag}`]);
  };
  return {
    registry: `127.0.0.1:${port}`,
    url,
    async push(image, repository, tag) {
      const layout = path.join(dir, `layout-${repository.replaceAll("/", "-")}-${tag}`);
      await writeOciLayout(layout, image, tag);
      await pushLayout(layout, repository, tag);
    },
    pushLayout,
    blobFile(digest) {
      // distribution's filesystem driver: docker/registry/v2/blobs/<algorithm>/<first two hex>/<hex>/data
      const [algorithm = "", hex = ""] = digest.split(":");
      return path.join(dir, "storage", "docker", "registry", "v2", "blobs", algorithm, hex.slice(0, 2), hex, "data");
    },
    async stop() {
      child.kill("SIGTERM");
      await child;
    },
  };
}
