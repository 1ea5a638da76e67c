// pin image REF: resolve the tag at the registry to the index digest and, for each arch of the
// selected manifests, the platform manifest's digest and the image size Podplane pins; write
// them into every selected manifest's vmconfig.images with minimal edits. All or nothing: a
// failure to resolve any arch changes no manifest.
import { readFile } from "node:fs/promises";
import { WorkError } from "../errors/index.js";
import { downloadContext, type RetryPolicy } from "../fetch/index.js";
import { loadManifests, parseManifest, type Arch, type Kind } from "../manifest/index.js";
import { parseImageReference, resolveImage, type RegistryMirrors, type ResolvedImage } from "../oci/index.js";
import { writeAtomically } from "./pin.js";

export interface PinImageOptions {
  /** `registry.k8s.io/pause:3.10.2` */
  ref: string;
  manifestsDir: string;
  kinds?: readonly Kind[] | undefined;
  arches?: readonly Arch[] | undefined;
  cacheDir: string;
  /** A mirror holding the tag (mirror export writes manifests/<tag>); default the registry itself. */
  mirror?: string | undefined;
  /** Registry → a registry mirror that resolves the tag instead (ahead of `mirror` for that registry). */
  registryMirrors?: RegistryMirrors | undefined;
  signal?: AbortSignal | undefined;
  retry?: RetryPolicy | undefined;
  timeoutMs?: number | undefined;
  onProgress?: ((line: string) => void) | undefined;
}

export interface PinImageResult {
  resolved: ResolvedImage;
  files: { file: string; changed: string[] }[];
}

export async function pinImage(options: PinImageOptions): Promise<PinImageResult> {
  parseImageReference(options.ref); // bad input before any request
  const manifests = await loadManifests(options.manifestsDir, { kinds: options.kinds, arches: options.arches });
  const arches = [...new Set(manifests.map((m) => m.arch))].sort();
  options.onProgress?.(`${options.ref}: resolving for ${arches.map((a) => `linux/${a}`).join(", ")}`);
  const resolved = await resolveImage(options.ref, arches, downloadContext(options));
  for (const p of resolved.platforms) options.onProgress?.(`${options.ref} ${p.platform}: ${p.digest} (${p.size} bytes), index ${resolved.index}`);

  const { pinImageInManifestText } = await import("./edit.js"); // jsonc-parser: only pin needs it
  const edited: { file: string; text: string; changed: string[] }[] = [];
  for (const manifest of manifests) {
    const platform = resolved.platforms.find((p) => p.arch === manifest.arch);
    if (!platform) continue;
    const before = await readFile(manifest.file, "utf8");
    const result = pinImageInManifestText(before, { image: options.ref, digest: platform.digest, size: platform.size, platform: platform.platform, index: resolved.index });
    if (result.changed.length > 0) {
      const check = parseManifest(manifest.file, result.text);
      if (!check.manifest) throw new WorkError("EMANIFEST", `pinning would make ${manifest.file} invalid: ${check.problems.join("; ")}`, { file: manifest.file });
    }
    edited.push({ file: manifest.file, text: result.text, changed: result.changed.map((field) => `images[${options.ref}].${field}`) });
  }
  // every edit checked before the first write
  for (const e of edited) if (e.changed.length > 0) await writeAtomically(e.file, e.text);
  return { resolved, files: edited.map(({ file, changed }) => ({ file, changed })) };
}
