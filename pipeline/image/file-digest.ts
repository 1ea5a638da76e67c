// A file's digest, streamed: images are hundreds of MiB.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";

export async function fileDigest(file: string, algorithm: "sha256" | "sha512" = "sha256"): Promise<string> {
  const hash = createHash(algorithm);
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return `${algorithm}:${hash.digest("hex")}`;
}

export async function fileSha256(file: string): Promise<string> {
  return fileDigest(file, "sha256");
}
