// Keys and a published image with its provenance, for the provenance suites: a qcow2 of random
// bytes under <out>/images/, its record in images.json, and its statement built from a copy of
// the repository's lock manifests (which a test may then edit).
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { cp, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { DEFAULT_MANIFESTS_DIR } from "../../pipeline/cli/options.js";
import { fileSha256 } from "../../pipeline/image/file-digest.js";
import { loadManifest } from "../../pipeline/manifest/load.js";
import { INTOTO_PAYLOAD_TYPE, signEnvelope } from "../../pipeline/provenance/dsse.js";
import { signerFromPem, type Signer } from "../../pipeline/provenance/keys.js";
import { buildStatement, type BuildParameters, type Statement } from "../../pipeline/provenance/statement.js";
import { publishImage, type ImageRecord } from "../../pipeline/publish/index.js";

export interface KeyFiles {
  privateKey: string;
  publicKey: string;
  privatePem: string;
}

export async function writeKeyPair(dir: string, type: "ed25519" | "ecdsa-p256", tag: string = type): Promise<KeyFiles> {
  const pair = type === "ed25519" ? generateKeyPairSync("ed25519") : generateKeyPairSync("ec", { namedCurve: "P-256" });
  const privatePem = pair.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const publicPem = pair.publicKey.export({ type: "spki", format: "pem" }).toString();
  await mkdir(dir, { recursive: true });
  const privateKey = path.join(dir, `${tag}.key`);
  const publicKey = path.join(dir, `${tag}.pub`);
  await writeFile(privateKey, privatePem, { mode: 0o600 });
  await writeFile(publicKey, publicPem);
  return { privateKey, publicKey, privatePem };
}

export const FIXED_TIMES = { startedOn: new Date("2026-11-30T10:00:00Z"), finishedOn: new Date("2026-11-30T10:20:00Z") };

export interface Published {
  out: string;
  manifests: string;
  record: ImageRecord;
  statement: Statement;
  statementPath: string;
}

export function qemuParameters(): BuildParameters {
  return { kind: "knd", arch: "amd64", os: "debian-13", target: "qemu", base: "cloud" };
}

/** A knd amd64 image (qemu: a qcow2; aws: two AMIs) published in `<dir>/out`, its statement signed with `signer` (unsigned without). */
export async function publishFixture(dir: string, options: { signer?: Signer | undefined; target?: "qemu" | "aws" } = {}): Promise<Published> {
  const target = options.target ?? "qemu";
  const manifests = path.join(dir, "manifests");
  await cp(DEFAULT_MANIFESTS_DIR, manifests, { recursive: true });
  const manifest = await loadManifest(path.join(manifests, "knd.debian-13.amd64.json"));
  const out = path.join(dir, "out");
  const name = `podplane-knd-debian-13-amd64-${target === "qemu" ? "0123456789ab" : "ba9876543210"}`;
  let qemu: ImageRecord["qemu"];
  if (target === "qemu") {
    const qcow2 = path.join(out, "images", `${name}.qcow2`);
    await mkdir(path.dirname(qcow2), { recursive: true });
    await writeFile(qcow2, randomBytes(64 * 1024));
    qemu = { path: qcow2, digest: await fileSha256(qcow2) };
  }
  const base = target === "qemu" ? { source: manifest.baseImage.url, digest: manifest.baseImage.digest } : { source: "ami:136693071363/debian-13-amd64-*", digest: "ami-filter:136693071363/debian-13-amd64-*" };
  const record: ImageRecord = {
    name,
    kind: "knd",
    arch: "amd64",
    os: "debian-13",
    target,
    inputHash: "ab".repeat(32),
    ...(qemu ? { qemu } : { amis: { "us-east-1": "ami-0123456789abcdef0", "eu-west-1": "ami-0fedcba9876543210" } }),
    dependencies: manifest.dependencies.filter((d) => !d.local).map((d) => ({ name: d.name, version: d.version, digest: d.digest })),
    vmconfigDigest: `sha256:${"d".repeat(64)}`,
    baseImage: base,
    size: 64 * 1024,
    buildSeconds: 1200,
    packerVersion: "1.6.6",
    createdAt: FIXED_TIMES.finishedOn.toISOString(),
  };
  const statement = buildStatement({
    record,
    manifest,
    parameters: target === "qemu" ? qemuParameters() : { kind: "knd", arch: "amd64", os: "debian-13", target: "aws", aws: { region: "us-east-1", amiRegions: ["eu-west-1"] } },
    vmconfigDigest: record.vmconfigDigest,
    templateDigest: `sha256:${"f".repeat(64)}`,
    packerFiles: [{ path: "podplane.pkr.hcl", digest: `sha256:${"1".repeat(64)}` }],
    base,
    toolVersion: "0.1.0",
    imageFormatVersion: 2,
    startedOn: FIXED_TIMES.startedOn,
    finishedOn: FIXED_TIMES.finishedOn,
  });
  const statementPath = path.join(out, "images", `${name}.intoto.jsonl`);
  await mkdir(path.dirname(statementPath), { recursive: true });
  await writeFile(statementPath, `${JSON.stringify(signEnvelope(Buffer.from(JSON.stringify(statement)), INTOTO_PAYLOAD_TYPE, options.signer))}\n`);
  const published = { ...record, provenance: { path: statementPath, signed: options.signer !== undefined, ...(options.signer ? { keyid: options.signer.keyid } : {}) } };
  await publishImage(out, published, { allowUntested: true });
  return { out, manifests, record: published, statement, statementPath };
}

export { signerFromPem };
