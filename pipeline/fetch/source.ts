// Opening an artifact's bytes as a stream: got for http(s) (redirects followed across hosts,
// no transparent decompression, no retries of its own), a read stream for a mirror directory.
// Failures become WorkErrors that name the artifact and the URL; retriable ones keep their code.
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { Readable } from "node:stream";
import type { Request } from "got";
import { WorkError } from "../errors/index.js";
import { describeSource, type ArtifactSource } from "./mirror.js";
import { httpStatusOf } from "./retry.js";

export interface OpenOptions {
  /** Names the artifact in messages. */
  label: string;
  signal?: AbortSignal | undefined;
  /** Idle-socket and response timeout in milliseconds. */
  timeoutMs: number;
}

export interface OpenedSource {
  stream: Readable;
  /** Content-Length (or file size) when known. */
  length: number | undefined;
}

function notFound(source: ArtifactSource, options: OpenOptions, status: number | undefined, cause: unknown): WorkError {
  const where = describeSource(source);
  const how = status === undefined ? "no such file in the mirror" : `HTTP ${status}`;
  return new WorkError("ENOTFOUND", `${options.label}: not found (${how}): ${where}`, { label: options.label, url: where, status }, { cause });
}

async function openFile(source: Extract<ArtifactSource, { kind: "file" }>, options: OpenOptions): Promise<OpenedSource> {
  try {
    const info = await stat(source.path);
    if (!info.isFile()) throw Object.assign(new Error("not a file"), { code: "ENOENT" });
    return { stream: createReadStream(source.path, { highWaterMark: 1024 * 1024, signal: options.signal }), length: info.size };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") throw notFound(source, options, undefined, error);
    throw error;
  }
}

async function openHttp(source: Extract<ArtifactSource, { kind: "http" }>, options: OpenOptions): Promise<OpenedSource> {
  // loaded on first use: a warm run (and every command that makes no request) never pays for it
  const { default: got } = await import("got");
  const stream: Request = got.stream(source.url, {
    decompress: false,
    followRedirect: true,
    maxRedirects: 10,
    retry: { limit: 0 },
    timeout: { connect: options.timeoutMs, response: options.timeoutMs, socket: options.timeoutMs },
    signal: options.signal,
    headers: { "user-agent": "podplane-images" },
  });
  return await new Promise<OpenedSource>((resolve, reject) => {
    const onError = (error: unknown) => {
      stream.destroy();
      const status = httpStatusOf(error);
      if (status === 404 || status === 410) return reject(notFound(source, options, status, error));
      if (status !== undefined && status < 500 && status !== 429) {
        return reject(new WorkError("EHTTP", `${options.label}: HTTP ${status} from ${source.url}`, { label: options.label, url: source.url, status }, { cause: error }));
      }
      reject(error instanceof Error ? error : new Error(String(error)));
    };
    stream.once("error", onError);
    stream.once("response", (response: { headers: Record<string, string | string[] | undefined> }) => {
      stream.off("error", onError);
      const header = response.headers["content-length"];
      const length = typeof header === "string" && /^\d+$/.test(header) ? Number(header) : undefined;
      resolve({ stream, length });
    });
  });
}

export function openSource(source: ArtifactSource, options: OpenOptions): Promise<OpenedSource> {
  return source.kind === "file" ? openFile(source, options) : openHttp(source, options);
}
