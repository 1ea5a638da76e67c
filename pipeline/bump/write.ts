// bump --write: pins every row with a newer version through `pin` itself (pipeline/pin: the
// same downloads, checksum files and signature checks as `pin NAME@VERSION` / `pin image REF`).
// All or nothing across rows: the pins run against a private copy of the manifests, and only
// when every one succeeded are the changed files written back (each atomically, and only if
// nobody changed it meanwhile). A failed pin leaves the manifests as they were.
import { copyFile, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { WorkError } from "../errors/index.js";
import type { RetryPolicy } from "../fetch/index.js";
import type { RegistryMirrors } from "../oci/index.js";
import type { Arch, Kind } from "../manifest/index.js";
import { pinDependency, pinImage, writeAtomically } from "../pin/index.js";
import type { BumpRow } from "./bump.js";

export interface WriteOptions {
  manifestsDir: string;
  cacheDir: string;
  mirror?: string | undefined;
  /** `pin image` only: registry → registry mirror (as for fetch). */
  registryMirrors?: RegistryMirrors | undefined;
  checksumsFrom?: string | undefined;
  trustMirror?: boolean | undefined;
  signal?: AbortSignal | undefined;
  retry?: RetryPolicy | undefined;
  timeoutMs?: number | undefined;
  onProgress?: ((line: string) => void) | undefined;
}

export interface WrittenBump {
  name: string;
  from: string;
  to: string;
  /** What `pin` ran: `pin NAME@VERSION` or `pin image REF`, with its selection. */
  pin: string;
}

export interface WriteResult {
  bumps: WrittenBump[];
  files: { file: string; changed: string[] }[];
}

/**
 * The manifests of a row as pin selections (pin selects kinds × arches): one selection when the
 * row's manifests are such a product (the usual case: one download and checksum read per arch),
 * else one per kind with its arches.
 */
function selections(row: BumpRow): { kinds: Kind[]; arches: Arch[] }[] {
  const byKind = new Map<Kind, Set<Arch>>();
  for (const m of row.manifests) byKind.set(m.kind, (byKind.get(m.kind) ?? new Set()).add(m.arch));
  const kinds = [...byKind.keys()].sort();
  const arches = [...new Set(row.manifests.map((m) => m.arch))].sort();
  if ([...byKind.values()].every((set) => set.size === arches.length)) return [{ kinds, arches }];
  return kinds.map((kind) => ({ kinds: [kind], arches: [...(byKind.get(kind) ?? [])].sort() }));
}

export async function writeBumps(rows: readonly BumpRow[], options: WriteOptions): Promise<WriteResult> {
  const todo = rows.filter((row) => row.status === "newer" && row.newest !== null);
  if (todo.length === 0) return { bumps: [], files: [] };
  const names = (await readdir(options.manifestsDir)).filter((name) => name.endsWith(".json")).sort();
  const before = new Map<string, string>();
  for (const name of names) before.set(name, await readFile(path.join(options.manifestsDir, name), "utf8"));

  const work = await mkdtemp(path.join(os.tmpdir(), "podplane-bump-"));
  try {
    for (const name of names) await copyFile(path.join(options.manifestsDir, name), path.join(work, name));
    const common = { manifestsDir: work, cacheDir: options.cacheDir, mirror: options.mirror, signal: options.signal, retry: options.retry, timeoutMs: options.timeoutMs, onProgress: options.onProgress };
    const bumps: WrittenBump[] = [];
    const changed = new Map<string, string[]>();
    const note = (result: { files: { file: string; changed: string[] }[] }) => {
      for (const f of result.files) changed.set(path.basename(f.file), [...(changed.get(path.basename(f.file)) ?? []), ...f.changed]);
    };
    for (const row of todo) {
      const newest = row.newest ?? "";
      for (const { kinds, arches } of selections(row)) {
        const where = `--kind ${kinds.join(",")} --arch ${arches.join(",")}`;
        if (row.type === "image") {
          const ref = `${row.name}:${newest}`;
          options.onProgress?.(`bump: pin image ${ref} ${where}`);
          note(await pinImage({ ...common, registryMirrors: options.registryMirrors, ref, kinds, arches }));
          bumps.push({ name: row.name, from: row.current, to: newest, pin: `pin image ${ref} ${where}` });
        } else {
          const spec = `${row.name}@${newest}`;
          options.onProgress?.(`bump: pin ${spec} ${where}`);
          note(await pinDependency({ ...common, spec, kinds, arches, checksumsFrom: options.checksumsFrom, trustMirror: options.trustMirror }));
          bumps.push({ name: row.name, from: row.current, to: newest, pin: `pin ${spec} ${where}` });
        }
      }
    }
    // every pin passed: write back what changed, each file only if it is still what was copied
    const files: WriteResult["files"] = [];
    const changedFiles: { target: string; text: string }[] = [];
    for (const name of names) {
      const text = await readFile(path.join(work, name), "utf8");
      if (text === before.get(name)) continue;
      const target = path.join(options.manifestsDir, name);
      if ((await readFile(target, "utf8")) !== before.get(name)) {
        throw new WorkError("ECHANGED", `${target} changed while bump ran; nothing was written (run bump again)`, { file: target });
      }
      changedFiles.push({ target, text });
      files.push({ file: target, changed: changed.get(name) ?? [] });
    }
    for (const { target, text } of changedFiles) await writeAtomically(target, text);
    return { bumps, files };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

