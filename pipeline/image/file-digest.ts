// sha256 of a file, streamed: images are hundreds of MiB.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";

export async function fileSha256(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return `sha256:${hash.digest("hex")}`;
}
