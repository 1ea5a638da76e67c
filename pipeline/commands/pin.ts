// `pin NAME@VERSION`: resolve, download, cross-check against upstream's checksum file (and its
// signature, where upstream signs), and write version/url/digest/size into every matching lock
// manifest; report per artifact which checks ran.
import type { Command } from "commander";
import { DEFAULT_MANIFESTS_DIR, parseArches, parseKinds } from "../cli/options.js";
import { printError, printJson, printLine } from "../cli/output.js";
import { CATALOG, CATALOG_GROUPS } from "../catalog/index.js";
import { redactDeep } from "../fetch/index.js";
import { UsageError } from "../errors/index.js";
import { pinImage } from "../pin/image.js";
import { describeChecks } from "../pin/checks.js";
import { DEFAULT_TRUST_DIR, pinDependency, type PinnedArtifact } from "../pin/pin.js";
import { withInterrupts } from "../progress/index.js";
import type { Arch, Kind } from "../manifest/index.js";
import { addCacheOption, addMirrorOption, addRegistryMirrorOption, EXIT_CODES_HELP, type CacheFlags, type RegistryMirrorFlags } from "./fetch.js";

interface PinFlags extends CacheFlags, RegistryMirrorFlags {
  kind?: Kind[];
  arch?: Arch[];
  manifests: string;
  json?: boolean;
  trustMirror?: boolean;
  checksumsFrom?: string;
  trustDir: string;
}

export function register(program: Command): Command {
  const names = [...Object.keys(CATALOG_GROUPS), ...CATALOG.map((e) => e.name)].join(", ");
  const command = program
    .command("pin")
    .argument("<name@version|image>", "dependency and version, e.g. kubernetes@1.36.2 (all Kubernetes binaries) or runc@1.4.3; or `image` followed by REF")
    .argument("[ref]", "with `image`: an image reference REGISTRY/REPOSITORY:TAG, e.g. registry.k8s.io/pause:3.10.2")
    .description("Pin a dependency version: download it, cross-check upstream's checksum file, write digest and size into the manifests")
    .addHelpText(
      "after",
      `
Names: ${names}.
The URL comes from the catalog (pipeline/catalog). The digest is taken from upstream's checksum
file (bare hex, "hex  name", "hex *name" or PGP clear-signed lines) and the download must match
it. Where upstream signs, the signature is verified with gpgv against the armored keys pinned in
trust/ (--trust-dir; see trust/README.md), never the user's keyring: runc's clear-signed
runc.sha256sum against trust/runc; a .deb through its apt repository, as apt does: the suite's
InRelease against trust/debian or trust/fluent-bit, the Packages index by InRelease's SHA256,
the .deb by its SHA256 in Packages. A bad signature, an unknown key, a Packages index that
differs from InRelease or a .deb missing from Packages refuses the pin. Each artifact reports
the checks that ran (digest-file, signature with the key's fingerprint, identity), or that
upstream publishes no signature. With --mirror, the bytes come from the mirror; signed files
too (the signature vouches for them). An unsigned checksum file never decides on the mirror's
word alone: it is read from upstream (or from --checksums-from, a copy of upstream's checksum
files in mirror layout); if upstream cannot be read, pin refuses, unless --trust-mirror, which
takes the mirror's word and writes "trust": "mirror" into each such entry (visible in the diff;
removed by a later pin that upstream vouches for). Credentials in URLs are redacted in every
output. Manifests are edited in place with minimal edits (the diff is the change); if any
download or check fails, none is changed.

pin image REF resolves the tag at the registry (OCI distribution API; anonymous bearer tokens;
plain HTTP for localhost/127.0.0.1) to its index digest and, for each arch of the selected
manifests, the platform manifest's digest and the image size (that manifest's bytes plus its
config and layer blobs, as Podplane defines it), and writes image, digest, size, platform and
index into vmconfig.images (the entry of the same repository is updated, whatever its tag).
With --mirror, the tag is read from the mirror (mirror export writes manifests/<tag>); with
--registry-mirror REGISTRY=URL, for an image of REGISTRY, from the registry at URL (its
/v2/<repository>/manifests/<tag>), ahead of --mirror. The digest is then that source's answer
for the tag: review the diff.
${EXIT_CODES_HELP}`,
    )
    .option("--kind <kinds>", "only these kinds' manifests (default: every kind that needs it)", parseKinds)
    .option("--arch <arches>", "only these arches (default: all)", parseArches)
    .option("--manifests <dir>", "directory of lock manifests", DEFAULT_MANIFESTS_DIR)
    .option("--checksums-from <url|dir>", "with --mirror: where upstream's checksum files are read (mirror layout; default: upstream itself)")
    .option("--trust-mirror", "with --mirror: accept a digest only the mirror vouches for, marked \"trust\": \"mirror\" in the manifest")
    .option("--trust-dir <dir>", "the pinned trust roots signatures are checked against (armored keys per upstream)", DEFAULT_TRUST_DIR);
  addMirrorOption(command);
  addRegistryMirrorOption(command);
  addCacheOption(command);
  return command.option("--json", "print one JSON document on stdout").action(async (spec: string, ref: string | undefined, flags: PinFlags) => {
    if (spec === "image") return await pinImageCommand(ref, flags);
    if (flags.registryMirror) throw new UsageError("--registry-mirror applies to `pin image REF` only: NAME@VERSION pins files, not images", "EUSAGE");
    if (ref !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(ref)}: only \`pin image REF\` takes a second argument`, "EUSAGE");
    const result = await withInterrupts((signal) =>
      pinDependency({
        spec,
        manifestsDir: flags.manifests,
        kinds: flags.kind,
        arches: flags.arch,
        cacheDir: flags.cache,
        mirror: flags.mirror,
        checksumsFrom: flags.checksumsFrom,
        trustMirror: flags.trustMirror,
        trustDir: flags.trustDir,
        signal,
        onProgress: printError,
      }),
    );
    if (flags.json) return printJson(redactDeep({ ok: true, ...result }));
    for (const pin of result.pins) printLine(checksLine(pin));
    for (const f of result.files) printLine(`${f.changed.length > 0 ? "updated" : "unchanged"} ${f.file}${f.changed.length > 0 ? `: ${f.changed.join(", ")}` : ""}`);
    const mirrorOnly = result.pins.filter((p) => p.trust === "mirror");
    if (mirrorOnly.length > 0) printError(`warning: only the mirror vouches for ${mirrorOnly.map((p) => `${p.name} ${p.arch}`).join(", ")} (--trust-mirror); marked "trust": "mirror"`);
  });
}

/** `runc 1.4.3 amd64: digest-file (runc.sha256sum lists runc.amd64), signature (trust/runc, key 5F36…)`, or says no signature was published. */
function checksLine(pin: PinnedArtifact): string {
  const checks = pin.checks.length > 0 ? describeChecks(pin.checks) : "no checksum file";
  return `checked ${pin.name} ${pin.version} ${pin.arch}: ${checks}${pin.unsigned ? `; no signature: ${pin.unsigned}` : ""}`;
}

async function pinImageCommand(ref: string | undefined, flags: PinFlags): Promise<void> {
  if (!ref) throw new UsageError("pin image: expected an image reference, e.g. `pin image registry.k8s.io/pause:3.10.2`", "EUSAGE");
  if (flags.trustMirror || flags.checksumsFrom) throw new UsageError("pin image: --trust-mirror and --checksums-from apply to NAME@VERSION only", "EUSAGE");
  const result = await withInterrupts((signal) =>
    pinImage({ ref, manifestsDir: flags.manifests, kinds: flags.kind, arches: flags.arch, cacheDir: flags.cache, mirror: flags.mirror, registryMirrors: flags.registryMirror, signal, onProgress: printError }),
  );
  if (flags.json) return printJson(redactDeep({ ok: true, ...result }));
  for (const f of result.files) printLine(`${f.changed.length > 0 ? "updated" : "unchanged"} ${f.file}${f.changed.length > 0 ? `: ${f.changed.join(", ")}` : ""}`);
}
