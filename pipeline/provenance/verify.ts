// verify-image: checks an image's provenance statement. Three checks, each reported on its own:
// the DSSE signature with the given public key; the statement's subject against the image as it
// is now (the qcow2 re-hashed, or for aws the AMIs images.json records); the resolved
// dependencies against the lock manifests (every pinned artifact, container image and, for a
// cloud-based qemu image, the base image: present with an equal digest, and nothing extra).
import { createHash } from "node:crypto";
import { access, readFile } from "node:fs/promises";
import path from "node:path";
import { UsageError } from "../errors/index.js";
import { fileSha256 } from "../image/file-digest.js";
import { loadManifests, type Manifest } from "../manifest/load.js";
import { IMAGES_FILE, readImagesFile, type ImageRecord } from "../publish/images-json.js";
import { envelopeBody, envelopeVerifies, INTOTO_PAYLOAD_TYPE, parseEnvelope, type Envelope } from "./dsse.js";
import { loadPublicKey, type Verifier } from "./keys.js";
import { amiDocument, containerImageName, digestSet, SLSA_PROVENANCE_V1, STATEMENT_TYPE, type DigestSet, type ResourceDescriptor, type Statement } from "./statement.js";
import { PROVENANCE_SUFFIX } from "./write.js";

export type CheckName = "statement" | "signature" | "subject" | "dependencies";
export type CheckStatus = "ok" | "failed" | "skipped";

export interface DependencyMismatch {
  name: string;
  role: string;
  /** `alg:hex` as the statement has it; null when the statement lacks the dependency. */
  statement: string | null;
  /** `alg:hex` as the manifests have it; null when the manifests lack it. */
  manifests: string | null;
}

export interface VerifyCheck {
  name: CheckName;
  status: CheckStatus;
  detail: string;
  /** subject: the digest the statement holds and the one computed now. */
  expected?: string;
  actual?: string;
  mismatches?: DependencyMismatch[];
}

export interface VerifyReport {
  ok: boolean;
  image: string;
  target: "qemu" | "aws" | null;
  statementPath: string;
  signed: boolean;
  /** keyid of each signature in the envelope. */
  keyids: string[];
  checks: VerifyCheck[];
}

export interface VerifyOptions {
  /** An image name from images.json, or a qcow2 path. */
  image: string;
  /** Where images.json is. */
  out: string;
  manifests: string;
  /** PEM public key; without one the signature is not checked (and the report says so). */
  keyFile?: string | undefined;
}

interface Target {
  name: string;
  record?: ImageRecord;
  /** qemu: the qcow2 to re-hash. */
  qcow2?: string;
  statementPath: string;
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/** A name from images.json, or a path to a qcow2 (its record, if images.json has one; else the statement beside it). */
async function resolveTarget(image: string, out: string): Promise<Target> {
  const doc = await readImagesFile(path.join(out, IMAGES_FILE));
  const looksLikePath = image.includes("/") || image.endsWith(".qcow2");
  if (looksLikePath) {
    const qcow2 = path.resolve(image);
    if (!(await exists(qcow2))) throw new UsageError(`${image}: no such image file`, "ENOENT");
    const name = path.basename(qcow2).replace(/\.qcow2$/, "");
    const record = doc.images.find((r) => r.qemu && path.resolve(r.qemu.path) === qcow2) ?? doc.images.find((r) => r.name === name && r.target === "qemu");
    const statementPath = record?.provenance?.path ?? path.join(path.dirname(qcow2), `${name}${PROVENANCE_SUFFIX}`);
    return { name: record?.name ?? name, qcow2, statementPath, ...(record ? { record } : {}) };
  }
  const record = doc.images.find((r) => r.name === image);
  if (!record) throw new UsageError(`unknown image ${image}: not in ${path.join(out, IMAGES_FILE)} (give a name from it, or a qcow2 path)`, "EUNKNOWNIMAGE");
  const statementPath = record.provenance?.path ?? path.join(out, "images", `${record.name}${PROVENANCE_SUFFIX}`);
  return { name: record.name, record, ...(record.qemu ? { qcow2: record.qemu.path } : {}), statementPath };
}

function formatDigest(set: DigestSet | undefined): string {
  if (!set) return "none";
  return Object.entries(set)
    .map(([alg, hex]) => `${alg}:${hex}`)
    .join(",");
}

/** The envelope and the statement in it, or the reason they cannot be read. */
function readStatement(text: string): { envelope?: Envelope; statement?: Statement; problem?: string } {
  const { envelope, problem } = parseEnvelope(text.trim());
  if (!envelope) return { problem: `not a DSSE envelope (${problem ?? "unreadable"})` };
  if (envelope.payloadType !== INTOTO_PAYLOAD_TYPE) return { envelope, problem: `payloadType ${JSON.stringify(envelope.payloadType)}, expected ${INTOTO_PAYLOAD_TYPE}` };
  let statement: Partial<Statement>;
  try {
    statement = JSON.parse(envelopeBody(envelope).toString("utf8")) as Partial<Statement>;
  } catch {
    return { envelope, problem: "the payload is not JSON" };
  }
  if (statement._type !== STATEMENT_TYPE) return { envelope, problem: `_type ${JSON.stringify(statement._type)}, expected ${STATEMENT_TYPE}` };
  if (statement.predicateType !== SLSA_PROVENANCE_V1) return { envelope, problem: `predicateType ${JSON.stringify(statement.predicateType)}, expected ${SLSA_PROVENANCE_V1}` };
  if (!Array.isArray(statement.subject) || !Array.isArray(statement.predicate?.buildDefinition?.resolvedDependencies)) return { envelope, problem: "no subject list or no resolvedDependencies" };
  return { envelope, statement: statement as Statement };
}

function signatureCheck(envelope: Envelope, verifier: Verifier | undefined, statementPath: string): VerifyCheck {
  if (!verifier) return { name: "signature", status: "skipped", detail: envelope.signatures.length === 0 ? "not checked: the statement is unsigned (and no --key given)" : "not checked: no --key given" };
  if (envelope.signatures.length === 0) throw new UsageError(`${statementPath}: the statement is unsigned (the image was built without --signing-key); there is no signature to check with --key`, "EUNSIGNED");
  if (envelopeVerifies(envelope, verifier)) return { name: "signature", status: "ok", detail: `verifies with the ${verifier.algorithm} key ${verifier.keyid}` };
  const by = envelope.signatures.map((s) => s.keyid ?? "(no keyid)").join(", ");
  return { name: "signature", status: "failed", detail: `no signature verifies with the ${verifier.algorithm} key ${verifier.keyid} (signed by keyid ${by}): the statement or its signature was changed, or another key signed it` };
}

async function subjectCheck(statement: Statement, target: Target): Promise<VerifyCheck> {
  const qemu = target.qcow2 !== undefined && target.record?.target !== "aws";
  const expectedName = qemu ? `${target.name}.qcow2` : `${target.name}.amis.json`;
  const subject = statement.subject.find((s) => s.name === expectedName);
  if (!subject) {
    return { name: "subject", status: "failed", detail: `the statement has no subject ${expectedName} (it names ${statement.subject.map((s) => s.name).join(", ") || "nothing"}): it is not this image's` };
  }
  let actual: DigestSet;
  if (qemu) {
    const file = target.qcow2 as string;
    if (!(await exists(file))) return { name: "subject", status: "failed", detail: `${file}: the qcow2 is gone` };
    actual = digestSet(await fileSha256(file)) as DigestSet;
  } else {
    actual = { sha256: createHash("sha256").update(amiDocument(target.name, target.record?.amis ?? {})).digest("hex") };
  }
  const amis = Object.entries(target.record?.amis ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const what = qemu ? `the file ${target.qcow2 ?? ""}` : `the AMIs images.json records (${amis.map(([r, a]) => `${r}:${a}`).join(", ")})`;
  const expected = `sha256:${subject.digest.sha256 ?? "(none)"}`;
  const now = `sha256:${actual.sha256 ?? ""}`;
  if (subject.digest.sha256 !== actual.sha256) return { name: "subject", status: "failed", detail: `${expectedName}: the statement has ${expected}, ${what} has ${now}`, expected, actual: now };
  return { name: "subject", status: "ok", detail: `${expectedName} ${now} matches ${what}`, expected, actual: now };
}

interface Expected {
  name: string;
  role: string;
  digest: string;
}

/** Every pinned thing of the manifest the statement must list with the same digest. */
function expectedDependencies(manifest: Manifest, statement: Statement): Expected[] {
  const out: Expected[] = manifest.dependencies.filter((d) => !d.local && d.digest !== "").map((d) => ({ name: d.name, role: "artifact", digest: d.digest }));
  for (const i of manifest.images) out.push({ name: containerImageName(i), role: "container-image", digest: i.digest });
  const p = statement.predicate.buildDefinition.externalParameters;
  if (p.target === "qemu" && p.base === "cloud") out.push({ name: "base-image", role: "base-image", digest: manifest.baseImage.digest });
  return out;
}

function digestEquals(set: DigestSet | undefined, digest: string): boolean {
  const want = digestSet(digest);
  if (!set || !want) return false;
  return Object.entries(want).every(([alg, hex]) => set[alg] === hex);
}

async function dependenciesCheck(statement: Statement, manifestsDir: string): Promise<VerifyCheck> {
  const p = statement.predicate.buildDefinition.externalParameters;
  if (typeof p?.kind !== "string" || typeof p.arch !== "string" || typeof p.os !== "string") {
    return { name: "dependencies", status: "failed", detail: "the statement's externalParameters name no kind, arch and os: no lock manifest to compare with" };
  }
  const manifest = (await loadManifests(manifestsDir, { kinds: [p.kind as Manifest["kind"]], arches: [p.arch as Manifest["arch"]], os: [p.os] })).find((m) => m.kind === p.kind && m.arch === p.arch && m.os === p.os);
  if (!manifest) throw new UsageError(`${manifestsDir}: no lock manifest for ${p.kind} ${p.os} ${p.arch} (--manifests names the directory the image was built from)`, "EMANIFEST");
  const resolved: ResourceDescriptor[] = statement.predicate.buildDefinition.resolvedDependencies;
  const roleOf = (d: ResourceDescriptor) => (typeof d.annotations?.role === "string" ? d.annotations.role : "");
  const mismatches: DependencyMismatch[] = [];
  const expected = expectedDependencies(manifest, statement);
  for (const e of expected) {
    const found = resolved.find((d) => d.name === e.name && roleOf(d) === e.role);
    if (!found) mismatches.push({ name: e.name, role: e.role, statement: null, manifests: e.digest });
    else if (!digestEquals(found.digest, e.digest)) mismatches.push({ name: e.name, role: e.role, statement: formatDigest(found.digest), manifests: e.digest });
  }
  // Something baked in that the manifests no longer have is a difference too.
  const known = new Set([...manifest.dependencies.filter((d) => !d.local).map((d) => `artifact\0${d.name}`), ...manifest.images.map((i) => `container-image\0${containerImageName(i)}`)]);
  for (const d of resolved.filter((x) => roleOf(x) === "artifact" || roleOf(x) === "container-image")) {
    if (!known.has(`${roleOf(d)}\0${d.name ?? ""}`)) mismatches.push({ name: d.name ?? "(unnamed)", role: roleOf(d), statement: formatDigest(d.digest), manifests: null });
  }
  const relative = path.relative(process.cwd(), manifest.file);
  const where = relative.startsWith("..") ? manifest.file : relative;
  if (mismatches.length > 0) return { name: "dependencies", status: "failed", detail: `${mismatches.length} of the statement's dependencies differ from ${where}`, mismatches };
  return { name: "dependencies", status: "ok", detail: `${expected.length} pinned artifacts and images match ${where}` };
}

export async function verifyImage(options: VerifyOptions): Promise<VerifyReport> {
  // Usage problems first (exit 2): the key, then the image.
  const verifier = options.keyFile !== undefined ? await loadPublicKey(options.keyFile) : undefined;
  const target = await resolveTarget(options.image, options.out);
  const base = { image: target.name, target: target.record?.target ?? (target.qcow2 ? "qemu" : null), statementPath: target.statementPath } as const;
  let text: string;
  try {
    text = await readFile(target.statementPath, "utf8");
  } catch {
    const checks: VerifyCheck[] = [{ name: "statement", status: "failed", detail: `${target.statementPath}: no provenance statement (built before provenance was written?)` }];
    return { ok: false, ...base, signed: false, keyids: [], checks };
  }
  const { envelope, statement, problem } = readStatement(text);
  const signed = (envelope?.signatures.length ?? 0) > 0;
  const keyids = envelope?.signatures.map((s) => s.keyid ?? "") ?? [];
  const checks: VerifyCheck[] = [];
  if (envelope) checks.push(signatureCheck(envelope, verifier, target.statementPath));
  if (!statement) {
    checks.unshift({ name: "statement", status: "failed", detail: `${target.statementPath}: ${problem ?? "unreadable"}` });
    return { ok: false, ...base, signed, keyids, checks };
  }
  checks.unshift({ name: "statement", status: "ok", detail: `${target.statementPath}: in-toto Statement v1, SLSA Provenance v1` });
  checks.push(await subjectCheck(statement, target));
  checks.push(await dependenciesCheck(statement, options.manifests));
  return { ok: checks.every((c) => c.status !== "failed"), ...base, signed, keyids, checks };
}
