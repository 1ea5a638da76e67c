// An Nstance delivery for a boot test: DIR/recv/ (what Nstance delivers, flat files) and
// DIR/keys/ (the private keys nstance-agent generates, <name>.key for each <name>.crt), laid out
// as under /opt/nstance-agent/. By default one is generated per run with a throw-away CA and the
// host's openssl: the certificates Podplane asks Nstance for (internal/clusterspec/certificates.go:
// names, CN, O, SANs, client/server use), plus containerd.client and registry.server (in vmconfig's
// allowlist), the service-account key pair on knc, and the Podplane CLI's mutable.env.
import { lstat, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { UsageError, WorkError } from "../errors/index.js";
import type { Kind } from "../manifest/schema.js";
import { formatEnvFile } from "./envfile.js";
import type { EnvPairs } from "./test-env.js";

export interface CertificateSpec {
  name: string;
  kinds: readonly Kind[];
  use: "client" | "server";
  cn: string;
  organization?: string;
  extraDns?: readonly string[];
  extraIp?: readonly string[];
  uri?: string;
}

export interface DeliveryIdentity {
  kind: Kind;
  instanceId: string;
  clusterId: string;
  /** The guest's IPv4 address (QEMU user networking gives 10.0.2.15). */
  ipv4: string;
  apiHostname?: string;
}

const BOTH: readonly Kind[] = ["knd", "knc"];
const KNC: readonly Kind[] = ["knc"];

/** The certificates of a node of `identity.kind`, with the subjects Podplane asks for. */
export function certificateSpecs(identity: DeliveryIdentity): CertificateSpec[] {
  const { instanceId, clusterId } = identity;
  const all: CertificateSpec[] = [
    { name: "kube2iam.client", kinds: BOTH, use: "client", cn: "kube2iam.client" },
    { name: "kubelet.client", kinds: BOTH, use: "client", cn: `system:node:${instanceId}`, organization: "system:nodes" },
    { name: "kubelet.server", kinds: BOTH, use: "server", cn: "kubelet.server" },
    { name: "containerd.client", kinds: BOTH, use: "client", cn: "containerd.client" },
    { name: "registry.server", kinds: BOTH, use: "server", cn: "registry.server" },
    { name: "front-proxy.client", kinds: KNC, use: "client", cn: "front-proxy-client" },
    { name: "kube-apiserver.client", kinds: KNC, use: "client", cn: "kube-apiserver.client", organization: "system:masters", uri: `netsy://${clusterId}/client/kube-apiserver` },
    {
      name: "kube-apiserver.server",
      kinds: KNC,
      use: "server",
      cn: "kube-apiserver.server",
      extraDns: ["kube-apiserver.podplane.internal", ...(identity.apiHostname ? [identity.apiHostname] : [])],
      // The first address of KUBE_SERVICE_CLUSTER_IP_RANGE's default (the kubernetes service).
      extraIp: ["198.18.0.1"],
    },
    { name: "kube-controller-manager.client", kinds: KNC, use: "client", cn: "system:kube-controller-manager" },
    { name: "kube-scheduler.client", kinds: KNC, use: "client", cn: "system:kube-scheduler" },
    { name: "netsy.client", kinds: KNC, use: "client", cn: "netsy.client", uri: `netsy://${clusterId}/peer/${instanceId}` },
    { name: "netsy.server", kinds: KNC, use: "server", cn: "netsy.server", uri: `netsy://${clusterId}/peer/${instanceId}` },
  ];
  return all.filter((c) => c.kinds.includes(identity.kind));
}

/** The `-addext` values of one certificate (SANs as Podplane's defaultDNS/defaultIP give them). */
export function certificateExtensions(spec: CertificateSpec, identity: DeliveryIdentity): string[] {
  const dns = [identity.instanceId, "localhost", ...(spec.extraDns ?? [])].map((d) => `DNS:${d}`);
  const ips = [identity.ipv4, "127.0.0.1", "::1", ...(spec.extraIp ?? [])].map((ip) => `IP:${ip}`);
  const uri = spec.uri ? [`URI:${spec.uri}`] : [];
  return [
    "basicConstraints=critical,CA:FALSE",
    `keyUsage=critical,digitalSignature${spec.use === "server" ? ",keyEncipherment" : ""}`,
    `extendedKeyUsage=${spec.use === "server" ? "serverAuth" : "clientAuth"}`,
    `subjectAltName=${[...dns, ...ips, ...uri].join(",")}`,
  ];
}

export function subjectOf(spec: CertificateSpec): string {
  return `${spec.organization ? `/O=${spec.organization}` : ""}/CN=${spec.cn}`;
}

// A config with no default extensions, so each certificate carries exactly what -addext gives.
const OPENSSL_CONFIG = "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\n";

async function openssl(args: string[], cwd: string): Promise<void> {
  const result = await execa("openssl", args, { cwd, reject: false, env: { OPENSSL_CONF: path.join(cwd, "openssl.cnf") } });
  if (result.exitCode !== 0) throw new WorkError("EOPENSSL", `openssl ${args[0] ?? ""} failed: ${String(result.stderr).trim().split("\n").slice(-2).join(" | ")}`);
}

export interface GeneratedDelivery {
  dir: string;
  /** The throw-away CA certificate (PEM): user-data.env's NSTANCE_CA_CERT. */
  caPem: string;
  certificates: CertificateSpec[];
}

/** Issues one certificate + key signed by the CA in `caDir` into recv/<name>.crt and keys/<name>.key under `outDir`. */
export async function issueCertificate(caDir: string, outDir: string, spec: CertificateSpec, identity: DeliveryIdentity): Promise<void> {
  await mkdir(path.join(outDir, "recv"), { recursive: true });
  await mkdir(path.join(outDir, "keys"), { recursive: true, mode: 0o700 });
  const key = path.join(outDir, "keys", `${spec.name}.key`);
  const crt = path.join(outDir, "recv", `${spec.name}.crt`);
  const extensions = certificateExtensions(spec, identity).flatMap((e) => ["-addext", e]);
  await openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", crt, "-days", "2", "-subj", subjectOf(spec), "-CA", "ca.crt", "-CAkey", "ca.key", ...extensions], caDir);
}

/** A fresh CA in `caDir` (ca.crt, ca.key, openssl.cnf). */
export async function createCa(caDir: string, clusterId: string): Promise<string> {
  await mkdir(caDir, { recursive: true, mode: 0o700 });
  await writeFile(path.join(caDir, "openssl.cnf"), OPENSSL_CONFIG);
  await openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", `/O=podplane-images boot test/CN=${clusterId} throw-away CA`, "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"], caDir);
  return readFile(path.join(caDir, "ca.crt"), "utf8");
}

/**
 * Generates a delivery in `dir` (recv/, keys/) and its CA in `caDir` (kept apart: the CA key is
 * never delivered; a rotation signs with it later).
 */
export async function generateDelivery(options: { dir: string; caDir: string; identity: DeliveryIdentity; mutableEnv: EnvPairs }): Promise<GeneratedDelivery> {
  const { dir, caDir, identity } = options;
  const caPem = await createCa(caDir, identity.clusterId);
  await mkdir(path.join(dir, "recv"), { recursive: true });
  await mkdir(path.join(dir, "keys"), { recursive: true, mode: 0o700 });
  await writeFile(path.join(dir, "recv", "ca.crt"), caPem);
  const certificates = certificateSpecs(identity);
  for (const spec of certificates) await issueCertificate(caDir, dir, spec, identity);
  if (identity.kind === "knc") {
    const saKey = path.join(dir, "recv", "service-accounts.key");
    await openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", saKey], caDir);
    await openssl(["pkey", "-in", saKey, "-pubout", "-out", path.join(dir, "recv", "service-accounts.pub")], caDir);
  }
  await writeFile(path.join(dir, "recv", "mutable.env"), formatEnvFile(options.mutableEnv));
  return { dir, caPem, certificates };
}

export interface DeliveryFile {
  /** "recv" or "keys" */
  from: "recv" | "keys";
  name: string;
  content: Buffer;
}

/** Reads DIR/recv/* and DIR/keys/*: flat regular files only, with a clear error for anything else. */
export async function readDeliveryDir(dir: string): Promise<DeliveryFile[]> {
  const files: DeliveryFile[] = [];
  for (const from of ["recv", "keys"] as const) {
    const sub = path.join(dir, from);
    const names = await readdir(sub).catch((error: unknown) => {
      throw new UsageError(`--delivery ${dir}: cannot read ${from}/ (${(error as Error).message}); expected ${from}/ as under /opt/nstance-agent/`, "EBADDELIVERY", { cause: error });
    });
    for (const name of names.sort()) {
      const file = path.join(sub, name);
      const stat = await lstat(file);
      if (!stat.isFile()) throw new UsageError(`--delivery ${dir}: ${from}/${name} is not a regular file (deliveries are flat files)`, "EBADDELIVERY");
      if (from === "keys" && !name.endsWith(".key")) throw new UsageError(`--delivery ${dir}: keys/${name}: nstance-agent generates only <name>.key files`, "EBADDELIVERY");
      files.push({ from, name, content: await readFile(file) });
    }
  }
  const recv = new Set(files.filter((f) => f.from === "recv").map((f) => f.name));
  for (const key of files.filter((f) => f.from === "keys")) {
    if (!recv.has(key.name.replace(/\.key$/, ".crt"))) throw new UsageError(`--delivery ${dir}: keys/${key.name} has no recv/${key.name.replace(/\.key$/, ".crt")}`, "EBADDELIVERY");
  }
  if (files.length === 0) throw new UsageError(`--delivery ${dir}: recv/ and keys/ are empty`, "EBADDELIVERY");
  return files;
}

/** The recv/mutable.env of a delivery, if it has one. */
export function deliveredMutableEnv(files: readonly DeliveryFile[]): string | undefined {
  return files.find((f) => f.from === "recv" && f.name === "mutable.env")?.content.toString("utf8");
}
