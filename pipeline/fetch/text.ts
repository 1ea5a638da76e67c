// Small text files (upstream checksum files) through the same source rules as artifacts:
// the mirror mapping, redirects, and the one retry rule. Not cached: they are tiny and `pin`
// wants upstream's current word.
import { WorkError } from "../errors/index.js";
import type { DownloadContext } from "./download.js";
import { describeSource, resolveSource } from "./mirror.js";
import { withRetries } from "./retry.js";
import { openSource } from "./source.js";

const MAX_TEXT = 1024 * 1024;

export async function fetchText(url: string, label: string, context: Omit<DownloadContext, "cacheDir" | "onEvent">): Promise<{ text: string; from: string }> {
  const source = resolveSource(url, context.mirror);
  const text = await withRetries(
    async () => {
      const opened = await openSource(source, { label, signal: context.signal, timeoutMs: context.timeoutMs });
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of opened.stream as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > MAX_TEXT) {
          opened.stream.destroy();
          throw new WorkError("EBADSIZE", `${label}: ${describeSource(source)} is larger than ${MAX_TEXT} bytes; not a checksum file`, { url: describeSource(source) });
        }
        chunks.push(chunk);
      }
      return Buffer.concat(chunks).toString("utf8");
    },
    context.retry,
    { signal: context.signal },
  );
  return { text, from: describeSource(source) };
}
