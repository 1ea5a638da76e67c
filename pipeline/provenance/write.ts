// The build hook: after a bake, the provenance statement of the image, signed when the build was
// given a key, written as `<out>/images/<name>.intoto.jsonl` (one DSSE envelope on one line, the
// in-toto attestation bundle convention; no signatures when unsigned), and the images.json
// record that says where it is and whether it is signed.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { PROJECT_ROOT } from "../cli/options.js";
import type { BakeSettings, Identity, PackerResult } from "../image/bake.js";
import { fileSha256 } from "../image/file-digest.js";
import { IMAGE_FORMAT_VERSION } from "../image/input-hash.js";
import { PACKER_DIR, templateFiles } from "../packer/template-digest.js";
import { writeFileAtomic } from "../publish/atomic-write.js";
import type { ImageRecord } from "../publish/images-json.js";
import { INTOTO_PAYLOAD_TYPE, signEnvelope } from "./dsse.js";
import type { Signer } from "./keys.js";
import { buildStatement, type BuildParameters, type Statement } from "./statement.js";

export const PROVENANCE_SUFFIX = ".intoto.jsonl";

/** Where an image's statement goes: beside the qcow2, in `<out>/images/` for aws too. */
export function provenancePath(outDir: string, name: string): string {
  return path.join(outDir, "images", `${name}${PROVENANCE_SUFFIX}`);
}

let toolVersion: Promise<string> | undefined;

/** This tool's version, from its package.json (the same one `--version` is kept in step with). */
export function podplaneImagesVersion(): Promise<string> {
  toolVersion ??= readFile(path.join(PROJECT_ROOT, "package.json"), "utf8").then((text) => {
    const version = (JSON.parse(text) as { version?: unknown }).version;
    return typeof version === "string" ? version : "0.0.0";
  });
  return toolVersion;
}

/**
 * Each file under packer/ with its sha256, when the tree still has the digest the image was named
 * with; an empty list when it changed since (the aggregate digest in the statement stays true).
 */
export async function packerFiles(expected: string, dir = PACKER_DIR): Promise<Array<{ path: string; digest: string }>> {
  const tree = await templateFiles(dir);
  return tree.digest === expected ? tree.files : [];
}

export function buildParameters(s: BakeSettings, skipTest: boolean | undefined): BuildParameters {
  const m = s.manifest;
  const aws = s.target === "aws" ? (s.aws ?? { region: "us-east-1" }) : undefined;
  return {
    kind: m.kind,
    arch: m.arch,
    os: m.os,
    target: s.target,
    ...(s.target === "qemu" ? { base: s.base } : {}),
    ...(skipTest ? { skipTest: true } : {}),
    ...(s.target === "qemu" && s.publishUrl ? { publishUrl: s.publishUrl } : {}),
    ...(aws
      ? {
          aws: {
            region: aws.region,
            ...(aws.amiRegions?.length ? { amiRegions: aws.amiRegions } : {}),
            ...(aws.amiUsers?.length ? { amiUsers: aws.amiUsers } : {}),
            ...(aws.amiGroups?.length ? { amiGroups: aws.amiGroups } : {}),
            ...(aws.kmsKeyId ? { kmsKeyId: aws.kmsKeyId } : {}),
          },
        }
      : {}),
  };
}

export interface ProvenanceContext {
  settings: BakeSettings;
  identity: Identity;
  result: PackerResult;
  record: ImageRecord;
  startedOn: Date;
  signer?: Signer | undefined;
  skipTest?: boolean | undefined;
}

export async function provenanceStatement(ctx: ProvenanceContext): Promise<Statement> {
  const { settings: s, identity, result, record } = ctx;
  const podplane = result.qemu?.podplaneManifest;
  return buildStatement({
    record,
    manifest: s.manifest,
    parameters: buildParameters(s, ctx.skipTest),
    vmconfigDigest: identity.vmconfig.digest,
    templateDigest: identity.templateDigest,
    packerFiles: await packerFiles(identity.templateDigest),
    base: { source: identity.base.source, digest: identity.base.digest },
    toolVersion: await podplaneImagesVersion(),
    imageFormatVersion: IMAGE_FORMAT_VERSION,
    accelerator: result.accelerator,
    podplaneManifest: podplane ? { path: podplane, digest: await fileSha256(podplane) } : undefined,
    startedOn: ctx.startedOn,
    finishedOn: new Date(),
  });
}

/** Writes the image's statement (signed with ctx.signer, if any); returns the record that names it. */
export async function recordProvenance(ctx: ProvenanceContext): Promise<ImageRecord> {
  const statement = await provenanceStatement(ctx);
  const envelope = signEnvelope(Buffer.from(JSON.stringify(statement), "utf8"), INTOTO_PAYLOAD_TYPE, ctx.signer);
  const file = provenancePath(ctx.settings.outDir, ctx.record.name);
  await writeFileAtomic(file, `${JSON.stringify(envelope)}\n`);
  return { ...ctx.record, provenance: { path: file, signed: ctx.signer !== undefined, ...(ctx.signer ? { keyid: ctx.signer.keyid } : {}) } };
}
