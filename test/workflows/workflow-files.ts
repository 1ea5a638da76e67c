// Reading .github/workflows for the tests: the parsed YAML, every `run:` script, and every
// podplane-images invocation in them as an argv, so each can be checked against the CLI.
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";

export const WORKFLOWS_DIR = path.resolve(import.meta.dirname, "../../.github/workflows");
export const CLI_NAME = "podplane-images";

export interface Step {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  if?: string | boolean;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}

export interface Job {
  needs?: string | string[];
  if?: string;
  outputs?: Record<string, string>;
  strategy?: { matrix?: unknown; "fail-fast"?: boolean };
  steps?: Step[];
  env?: Record<string, string>;
  [key: string]: unknown;
}

export interface Workflow {
  file: string;
  text: string;
  doc: { on?: unknown; jobs: Record<string, Job>; env?: Record<string, string>; [key: string]: unknown };
}

export function workflowFiles(): string[] {
  return readdirSync(WORKFLOWS_DIR)
    .filter((f) => f.endsWith(".yml") || f.endsWith(".yaml"))
    .sort();
}

export function readWorkflow(file: string): Workflow {
  const text = readFileSync(path.join(WORKFLOWS_DIR, file), "utf8");
  // YAML 1.1 would read `on:` as a boolean key; the yaml package's default (1.2 core) keeps it.
  return { file, text, doc: parse(text) as Workflow["doc"] };
}

export function needsOf(job: Job): string[] {
  return job.needs === undefined ? [] : Array.isArray(job.needs) ? job.needs : [job.needs];
}

/** Every `${{ ... }}` expression in a value, recursively (strings in objects and arrays). */
export function expressionsIn(value: unknown): string[] {
  if (typeof value === "string") return [...value.matchAll(/\$\{\{([\s\S]*?)\}\}/g)].map((m) => (m[1] ?? "").trim());
  if (Array.isArray(value)) return value.flatMap(expressionsIn);
  if (value && typeof value === "object") return Object.values(value).flatMap(expressionsIn);
  return [];
}

export interface Invocation {
  workflow: string;
  job: string;
  step: string;
  /** The words after `podplane-images`, shell quoting removed; `${{ ... }}` kept as written. */
  argv: string[];
}

// Shell keywords that may stand before the command word of a simple command.
const PREFIX_WORDS = new Set(["if", "then", "else", "elif", "do", "!", "time", "exec"]);
const REDIRECT = /^(\d*>>?|\d*<|&>|\d*>&\d*)$/;

/**
 * Splits a Bash script into simple commands (newlines, `;`, `&&`, `||`, `|`, and the body of
 * each `$( ... )`, also inside double quotes, as a command of its own) and each command into
 * words, honouring single and double quotes, comments and backslash-newline. Enough for the
 * scripts these workflows hold; anything it cannot place is caught by the occurrence count in
 * `invocationsIn`.
 */
export function simpleCommands(script: string): string[][] {
  // `${{ }}` may hold `||` and quotes: make each one opaque first (private-use characters).
  const expressions: string[] = [];
  const text = script.replace(/\$\{\{[\s\S]*?\}\}/g, (m) => `\u{E000}${expressions.push(m) - 1}\u{E001}`).replace(/\\\n/g, " ");
  const restore = (w: string) => w.replace(/\u{E000}(\d+)\u{E001}/gu, (_, i: string) => expressions[Number(i)] ?? "");

  interface Frame {
    words: string[];
    word: string | undefined;
    quote: "'" | '"' | undefined;
  }
  const commands: string[][] = [];
  const frames: Frame[] = [{ words: [], word: undefined, quote: undefined }];
  let f = frames[0] as Frame;
  const endWord = () => {
    if (f.word !== undefined) f.words.push(restore(f.word));
    f.word = undefined;
  };
  const endCommand = () => {
    endWord();
    if (f.words.length > 0) commands.push(f.words.splice(0));
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i] ?? "";
    if (c === "$" && text[i + 1] === "(" && f.quote !== "'") {
      // Command substitution: its body is parsed as commands of its own; the outer word keeps a marker.
      f.word = (f.word ?? "") + "$(…)";
      f = { words: [], word: undefined, quote: undefined };
      frames.push(f);
      i++;
      continue;
    }
    if (f.quote) {
      if (c === f.quote) f.quote = undefined;
      else if (c === "\\" && f.quote === '"' && i + 1 < text.length) f.word = (f.word ?? "") + (text[++i] ?? "");
      else f.word = (f.word ?? "") + c;
      continue;
    }
    if (c === "'" || c === '"') {
      f.quote = c;
      f.word ??= "";
    } else if (c === ")" && frames.length > 1) {
      endCommand();
      frames.pop();
      f = frames[frames.length - 1] as Frame;
    } else if (c === "#" && f.word === undefined) {
      while (i + 1 < text.length && text[i + 1] !== "\n") i++;
    } else if (c === "&" && f.word !== undefined && /\d?>$/.test(f.word)) {
      f.word += c; // 2>&1
    } else if (c === "\n" || c === ";" || c === "|" || c === "&") {
      endCommand();
      if ((c === "|" || c === "&") && text[i + 1] === c) i++;
    } else if (c === " " || c === "\t") {
      endWord();
    } else {
      f.word = (f.word ?? "") + c;
    }
  }
  while (frames.length > 0) {
    endCommand();
    frames.pop();
    f = frames[frames.length - 1] as Frame;
  }
  return commands;
}

/** The argv of a simple command that runs podplane-images, or undefined. */
export function cliArgv(words: readonly string[]): string[] | undefined {
  let i = 0;
  while (i < words.length && (PREFIX_WORDS.has(words[i] ?? "") || /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i] ?? ""))) i++;
  if (words[i] !== CLI_NAME) return undefined;
  const argv: string[] = [];
  for (let j = i + 1; j < words.length; j++) {
    const w = words[j] ?? "";
    if (REDIRECT.test(w)) {
      if (!/&\d$/.test(w)) j++; // its target
      continue;
    }
    if (/^\d*>>?\S/.test(w)) continue; // >file
    argv.push(w);
  }
  return argv;
}

/** Every podplane-images invocation in every `run:` of a workflow. */
export function invocationsIn(wf: Workflow): { invocations: Invocation[]; mentions: number } {
  const invocations: Invocation[] = [];
  let mentions = 0;
  for (const [jobName, job] of Object.entries(wf.doc.jobs)) {
    for (const [index, step] of (job.steps ?? []).entries()) {
      if (typeof step.run !== "string") continue;
      // A command word: at the start of a line or after ; & | ( or a space, followed by a space or the end.
      mentions += [...step.run.matchAll(/(?:^|[\s;&|(])podplane-images(?=\s|$)/gm)].length;
      for (const words of simpleCommands(step.run)) {
        const argv = cliArgv(words);
        if (argv) invocations.push({ workflow: wf.file, job: jobName, step: step.name ?? `#${index + 1}`, argv });
      }
    }
  }
  return { invocations, mentions };
}
