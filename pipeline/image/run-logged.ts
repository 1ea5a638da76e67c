// Runs a child process with its output appended to a log file on disk, keeping the last lines
// in memory for the error message. Cancelled through an AbortSignal (SIGTERM, then SIGKILL).
import { createWriteStream } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { WorkError } from "../errors/index.js";
import { redactUrls } from "../fetch/redact.js";

export interface RunLoggedOptions {
  logPath: string;
  /** The error code when the command fails (e.g. EBASE, EPACKER). */
  code: string;
  signal?: AbortSignal | undefined;
  cwd?: string | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  /** Called with each output line (stdout and stderr interleaved). */
  onLine?: ((line: string) => void) | undefined;
  tailLines?: number;
  /** Turns a raw output line into what the error message shows; undefined leaves it out. */
  describe?: ((line: string) => string | undefined) | undefined;
  /** Signal sent on cancel (Packer cleans up on SIGINT); default SIGTERM. */
  killSignal?: NodeJS.Signals | undefined;
  /** After the cancel signal, SIGKILL follows this many ms later. */
  forceKillAfterMs?: number | undefined;
  /**
   * Run the command in its own process group and signal the whole group: the cancel signal
   * reaches a script's children too, the SIGKILL escalation leaves none of them running (holding
   * a mount busy), and any member still alive when the command exits is killed.
   */
  processGroup?: boolean | undefined;
}

/** Keeps the last `max` non-empty lines. */
export class LineTail {
  readonly lines: string[] = [];
  constructor(private readonly max: number) {}
  push(line: string): void {
    if (line.trim() === "") return;
    this.lines.push(line);
    if (this.lines.length > this.max) this.lines.shift();
  }
}

export async function runLogged(file: string, args: readonly string[], options: RunLoggedOptions): Promise<void> {
  const log = createWriteStream(options.logPath, { flags: "a" });
  const tail = new LineTail(options.tailLines ?? 15);
  log.write(`$ ${redactUrls([file, ...args].join(" "))}\n`);
  const remember = (line: string): void => {
    const shown = options.describe ? options.describe(redactUrls(line)) : redactUrls(line);
    if (shown !== undefined) tail.push(shown);
  };
  const killSignal = options.killSignal ?? "SIGTERM";
  const forceKillAfterMs = options.forceKillAfterMs ?? 10_000;
  const group = options.processGroup === true;
  let cancelled = false;
  let forceTimer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    if (group && options.signal?.aborted) throw new WorkError("ECANCELED", `${path.basename(file)} was cancelled`, { command: file }, { logPath: options.logPath });
    const child = execa(file, args, {
      cwd: options.cwd,
      env: options.env,
      all: true,
      buffer: false,
      stdin: "ignore",
      reject: false,
      ...(group
        ? { detached: true }
        : { cancelSignal: options.signal, killSignal, forceKillAfterDelay: forceKillAfterMs }),
    });
    if (group) {
      const killGroup = (signal: NodeJS.Signals): void => {
        if (child.pid === undefined) return;
        try {
          process.kill(-child.pid, signal);
        } catch {
          // the group is gone already
        }
      };
      onAbort = () => {
        cancelled = true;
        killGroup(killSignal);
        forceTimer = setTimeout(() => killGroup("SIGKILL"), forceKillAfterMs);
      };
      options.signal?.addEventListener("abort", onAbort, { once: true });
      // Whatever of the group outlives the command is a stray (an orphaned grub-install).
      child.once("exit", () => killGroup("SIGKILL"));
    }
    child.all.setEncoding("utf8");
    let partial = "";
    // Output is redacted line by line (a chunk can end inside a URL): complete lines only.
    child.all.on("data", (chunk: string) => {
      const parts = (partial + chunk).split("\n");
      partial = parts.pop() ?? "";
      for (const line of parts) {
        const shown = redactUrls(line);
        log.write(`${shown}\n`);
        remember(line);
        options.onLine?.(shown);
      }
    });
    const result = await child;
    if (partial) {
      log.write(`${redactUrls(partial)}\n`);
      remember(partial);
    }
    const name = path.basename(file);
    if (result.isCanceled || cancelled) {
      throw new WorkError("ECANCELED", `${name} was cancelled`, { command: file }, { logPath: options.logPath });
    }
    if (result.failed) {
      const how = result.signal ? `was killed by ${result.signal}` : `exited with ${String(result.exitCode)}`;
      throw new WorkError(options.code, `${name} ${how}; last lines:\n${tail.lines.map((l) => `  ${l}`).join("\n")}`, { command: file, exitCode: result.exitCode, signal: result.signal, tail: tail.lines }, { logPath: options.logPath });
    }
  } finally {
    if (forceTimer) clearTimeout(forceTimer);
    if (onAbort) options.signal?.removeEventListener("abort", onAbort);
    await new Promise<void>((resolve) => log.end(resolve));
  }
}
