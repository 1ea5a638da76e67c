// The strict stand-ins, run on the host with /usr/bin/python3 (the interpreter they name): for each
// daemon a valid invocation listens where the real binary would and SIGTERM ends it with 0; an
// unknown flag, a missing required flag, a malformed value, an unreadable file and a config that
// does not load each exit 2 with a message naming it. Tools print their version.
import { execFile, spawn } from "node:child_process";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import { createConnection } from "node:net";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { STANDIN_INTERPRETER } from "../fixtures/standins/index.js";
import { writeProgram } from "../fixtures/standins/write.js";
import { freePort } from "../helpers/free-port.js";

const execFileP = promisify(execFile);
const IS_ROOT = process.getuid?.() === 0;
const PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

interface Run {
  args: string[];
  env?: Record<string, string>;
}
interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

let dir = "";
const bin = (name: string): string => path.join(dir, "bin", name);
const f = (rel: string): string => path.join(dir, rel);


/** Runs a stand-in to completion (as nobody when `asNobody`, to test file access as a service user). */
async function runOnce(name: string, run: Run, asNobody = false): Promise<Result> {
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", PODPLANE_STANDIN_DIR: f("state"), ...run.env };
  const argv = asNobody && IS_ROOT ? ["setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", STANDIN_INTERPRETER, bin(name), ...run.args]] : [STANDIN_INTERPRETER, [bin(name), ...run.args]];
  try {
    const { stdout, stderr } = await execFileP(argv[0] as string, argv[1] as string[], { env, timeout: 10_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

async function connects(target: { port?: number; socket?: string }): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = target.socket ? createConnection(target.socket) : createConnection(target.port ?? 0, "127.0.0.1");
    sock.once("connect", () => {
      sock.destroy();
      resolve(true);
    });
    sock.once("error", () => resolve(false));
  });
}

/** Starts a stand-in, waits until it accepts on `target`, then SIGTERMs it; returns the exit code. */
async function startListenStop(name: string, run: Run, target: { port?: number; socket?: string }): Promise<{ listened: boolean; code: number | null; stderr: string }> {
  const child = spawn(STANDIN_INTERPRETER, [bin(name), ...run.args], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", PODPLANE_STANDIN_DIR: f("state"), ...run.env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  let listened = false;
  for (let i = 0; i < 100 && child.exitCode === null; i++) {
    if (await connects(target)) {
      listened = true;
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill("SIGTERM");
  return { listened, code: await exited, stderr };
}

const KUBECONFIG = (server: string, extra = ""): string => `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "${server}", certificate-authority: crt/ca.crt}
users:
- name: u
  user: {client-certificate: crt/client.crt, client-key: crt/client.key}
contexts:
- name: ctx
  context: {cluster: c, user: u}
${extra}`;

beforeAll(async () => {
  // One tree for the whole file (tempDir() is per test): the programs and fixtures are shared.
  dir = await mkdtemp(path.join(os.tmpdir(), "pp-strict-"));
  await chmod(dir, 0o755);
  await mkdir(f("crt"), { recursive: true });
  for (const name of ["ca.crt", "server.crt", "server.key", "client.crt", "client.key"]) await writeFile(f(`crt/${name}`), PEM, { mode: 0o644 });
  await writeFile(f("crt/secret.key"), PEM, { mode: 0o600 });
  await chmod(f("crt/secret.key"), IS_ROOT ? 0o600 : 0o000);
  await writeFile(f("kubeconfig"), KUBECONFIG("https://127.0.0.1:6443", "current-context: ctx\n"));
  await writeFile(f("kubeconfig-nocontext"), KUBECONFIG("https://127.0.0.1:6443"));
  for (const d of ["data", "identity", "keys", "recv", "state"]) await mkdir(f(d), { recursive: true });
  await writeFile(f("identity/ca.crt"), PEM);
  const programs = ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "containerd", "zot", "netsy", "nstance-agent", "kube2iam", "fluent-bit", "kubectl", "crictl", "runc", "ctr", "bridge", "newuidmap"];
  await Promise.all(programs.map((p) => writeProgram(bin(p), p, p.startsWith("kube-") || p === "kubelet" || p === "kubectl" ? "1.36.1" : "9.9.9", 4096)));
});

afterAll(() => rm(dir, { recursive: true, force: true }));

describe("/usr/bin/python3 on this host", () => {
  it("imports yaml (PyYAML) and tomllib, which the stand-ins use", async () => {
    const { stdout } = await execFileP(STANDIN_INTERPRETER, ["-c", "import yaml, tomllib; print('ok')"]);
    expect(stdout).toBe("ok\n");
  });
});

interface DaemonCase {
  name: string;
  valid: () => Promise<{ run: Run; target: { port?: number; socket?: string } }>;
  /** [what, run, message]: each must exit 2 with stderr matching message. */
  bad: (valid: Run) => [string, Run, RegExp, boolean?][];
}

const without = (args: string[], prefix: string): string[] => args.filter((a) => !a.startsWith(prefix));
const replace = (args: string[], prefix: string, value: string): string[] => [...without(args, prefix), value];

const CASES: DaemonCase[] = [
  {
    name: "kube-apiserver",
    valid: async () => {
      const port = await freePort();
      const args = [
        "--etcd-servers=https://127.0.0.1:2378", `--etcd-cafile=${f("crt/ca.crt")}`, `--etcd-certfile=${f("crt/client.crt")}`, `--etcd-keyfile=${f("crt/client.key")}`,
        `--secure-port=${port}`, "--bind-address=127.0.0.1", "--service-account-issuer=https://api.example:6443",
        `--service-account-key-file=${f("crt/ca.crt")}`, `--service-account-signing-key-file=${f("crt/server.key")}`,
        `--tls-cert-file=${f("crt/server.crt")}`, `--tls-private-key-file=${f("crt/server.key")}`, `--client-ca-file=${f("crt/ca.crt")}`,
        "--authorization-mode=Node,RBAC", "--enable-admission-plugins=NodeRestriction", "--anonymous-auth=false", "--tls-min-version=VersionTLS13",
        "--service-cluster-ip-range=198.18.0.0/15,fdc6::/108", "--oidc-issuer-url=https://issuer.example", "--oidc-client-id=cluster",
        "--oidc-signing-algs=RS256", "--goaway-chance=0", "--etcd-compaction-interval=0", "--v=2",
      ];
      return { run: { args }, target: { port } };
    },
    bad: (v) => [
      ["unknown flag", { args: [...v.args, "--no-such-flag=1"] }, /unknown flag: --no-such-flag/],
      ["missing required flag", { args: without(v.args, "--etcd-servers") }, /missing required flag: --etcd-servers/],
      ["bad enum", { args: replace(v.args, "--tls-min-version", "--tls-min-version=VersionTLS14") }, /--tls-min-version/],
      ["bad authorization mode", { args: replace(v.args, "--authorization-mode", "--authorization-mode=Node,Everyone") }, /--authorization-mode.*Everyone/],
      ["bad CIDR list", { args: replace(v.args, "--service-cluster-ip-range", "--service-cluster-ip-range=198.18.0.0/15,10.0.0.0/8") }, /--service-cluster-ip-range/],
      ["bad bool", { args: replace(v.args, "--anonymous-auth", "--anonymous-auth=nope") }, /--anonymous-auth/],
      ["bad duration", { args: replace(v.args, "--etcd-compaction-interval", "--etcd-compaction-interval=5 minutes") }, /--etcd-compaction-interval/],
      ["oidc without client id", { args: without(v.args, "--oidc-client-id") }, /--oidc-issuer-url requires --oidc-client-id/],
      ["signing key without issuer", { args: without(v.args, "--service-account-issuer") }, /--service-account-issuer/],
      ["absent file", { args: replace(v.args, "--client-ca-file", `--client-ca-file=${f("crt/absent.crt")}`) }, /--client-ca-file: file .*absent\.crt does not exist/],
      ["unreadable file", { args: replace(v.args, "--tls-private-key-file", `--tls-private-key-file=${f("crt/secret.key")}`) }, /--tls-private-key-file: file .*secret\.key is not readable/, true],
    ],
  },
  {
    name: "kube-controller-manager",
    valid: async () => {
      const port = await freePort();
      const args = [
        `--kubeconfig=${f("kubeconfig")}`, `--secure-port=${port}`, "--bind-address=127.0.0.1", "--allocate-node-cidrs=true",
        "--cluster-cidr=100.64.0.0/10,fd64::/48", "--node-cidr-mask-size-ipv4=24", "--node-cidr-mask-size-ipv6=64",
        "--service-cluster-ip-range=198.18.0.0/15,fdc6::/108", `--service-account-private-key-file=${f("crt/server.key")}`,
        "--use-service-account-credentials=true", `--root-ca-file=${f("crt/ca.crt")}`, "--tls-min-version=VersionTLS13", "--v=2",
      ];
      return { run: { args }, target: { port } };
    },
    bad: (v) => [
      ["unknown flag", { args: [...v.args, "--oidc-issuer-url=https://x"] }, /unknown flag: --oidc-issuer-url/],
      ["missing required flag", { args: without(v.args, "--kubeconfig") }, /missing required flag: --kubeconfig/],
      ["bad bool", { args: replace(v.args, "--allocate-node-cidrs", "--allocate-node-cidrs=yes") }, /--allocate-node-cidrs/],
      ["allocate without cluster CIDR", { args: without(v.args, "--cluster-cidr") }, /--allocate-node-cidrs=true requires --cluster-cidr/],
      ["malformed kubeconfig", { args: replace(v.args, "--kubeconfig", `--kubeconfig=${f("kubeconfig-nocontext")}`) }, /--kubeconfig.*current-context/],
      ["unreadable file", { args: replace(v.args, "--service-account-private-key-file", `--service-account-private-key-file=${f("crt/secret.key")}`) }, /--service-account-private-key-file: file .* is not readable/, true],
    ],
  },
  {
    name: "kube-scheduler",
    valid: async () => {
      const port = await freePort();
      await writeFile(f("scheduler.yaml"), `apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nclientConnection:\n  kubeconfig: ${f("kubeconfig")}\nleaderElection:\n  leaderElect: true\n`);
      await writeFile(f("scheduler-v1beta3.yaml"), `apiVersion: kubescheduler.config.k8s.io/v1beta3\nkind: KubeSchedulerConfiguration\n`);
      await writeFile(f("scheduler-unknown.yaml"), `apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nclientConnection: {kubeconfig: ${f("kubeconfig")}}\nschedulerName: x\n`);
      await writeFile(f("scheduler-nokubeconfig.yaml"), `apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n`);
      return { run: { args: [`--config=${f("scheduler.yaml")}`, `--secure-port=${port}`, "--bind-address=127.0.0.1", "--v=2"] }, target: { port } };
    },
    bad: (v) => [
      ["unknown flag", { args: [...v.args, "--policy-config-file=x"] }, /unknown flag: --policy-config-file/],
      ["missing kubeconfig", { args: replace(v.args, "--config", `--config=${f("scheduler-nokubeconfig.yaml")}`) }, /no kubeconfig/],
      ["bad port", { args: replace(v.args, "--secure-port", "--secure-port=70000") }, /--secure-port/],
      ["wrong apiVersion", { args: replace(v.args, "--config", `--config=${f("scheduler-v1beta3.yaml")}`) }, /--config: .* apiVersion 'kubescheduler.config.k8s.io\/v1beta3'/],
      ["unknown config field", { args: replace(v.args, "--config", `--config=${f("scheduler-unknown.yaml")}`) }, /unknown field 'schedulerName'/],
      ["absent config", { args: replace(v.args, "--config", `--config=${f("absent.yaml")}`) }, /--config: file .*absent\.yaml does not exist/],
    ],
  },
  {
    name: "kubelet",
    valid: async () => {
      const [port, healthz] = [await freePort(), await freePort()];
      const config = (extra: string, key = "crt/server.key"): string => `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: ${port}
healthzBindAddress: 127.0.0.1
healthzPort: ${healthz}
readOnlyPort: 0
clusterDomain: cluster.local
clusterDNS: [198.19.255.254, "fdc6::ffff"]
cgroupDriver: systemd
tlsCertFile: ${f("crt/server.crt")}
tlsPrivateKeyFile: ${f(key)}
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: ${f("crt/ca.crt")}}
authorization: {mode: Webhook}
${extra}`;
      await writeFile(f("kubelet.yaml"), config("providerID: aws:///zone/i-1\n"));
      await writeFile(f("kubelet-unknown.yaml"), config("clusterDns: [1.2.3.4]\n"));
      await writeFile(f("kubelet-dns.yaml"), config("").replace("198.19.255.254", "dns.example"));
      await writeFile(f("kubelet-broken.yaml"), `${config("")}\n  bad: [\n`);
      await writeFile(f("kubelet-secret.yaml"), config("", "crt/secret.key"));
      const args = [`--config=${f("kubelet.yaml")}`, `--kubeconfig=${f("kubeconfig")}`, "--node-ip=10.0.0.5,fd00::5", "--hostname-override=i-1", "--node-labels=podplane.dev/kind=knc", "--v=2"];
      return { run: { args }, target: { port } };
    },
    bad: (v) => [
      ["unknown flag", { args: [...v.args, "--pod-infra-container-image=pause"] }, /unknown flag: --pod-infra-container-image/],
      ["bad IP", { args: replace(v.args, "--node-ip", "--node-ip=10.0.0") }, /--node-ip/],
      ["unknown config field", { args: replace(v.args, "--config", `--config=${f("kubelet-unknown.yaml")}`) }, /unknown field 'clusterDns'/],
      ["bad clusterDNS", { args: replace(v.args, "--config", `--config=${f("kubelet-dns.yaml")}`) }, /clusterDNS entry 'dns.example'/],
      ["malformed YAML", { args: replace(v.args, "--config", `--config=${f("kubelet-broken.yaml")}`) }, /does not parse as YAML/],
      ["absent config", { args: replace(v.args, "--config", `--config=${f("absent.yaml")}`) }, /--config: file .*absent\.yaml does not exist/],
      ["unreadable key in config", { args: replace(v.args, "--config", `--config=${f("kubelet-secret.yaml")}`) }, /tlsPrivateKeyFile.*secret\.key is not readable/, true],
    ],
  },
  {
    name: "containerd",
    valid: async () => {
      const socket = f("run/containerd/containerd.sock");
      await writeFile(f("containerd.toml"), `version = 3\nroot = "${f("data")}"\n[grpc]\naddress = "${socket}"\n[plugins."io.containerd.cri.v1.runtime"]\n`);
      await writeFile(f("containerd-v1.toml"), `version = 1\n`);
      await writeFile(f("containerd-broken.toml"), `version = 3\n[grpc\n`);
      await writeFile(f("containerd-unknown.toml"), `version = 3\n[registry]\n`);
      return { run: { args: ["--config", f("containerd.toml"), "--log-level=info"] }, target: { socket } };
    },
    bad: (v) => [
      ["unknown flag", { args: [...v.args, "--debug"] }, /unknown flag: --debug/],
      ["bad enum", { args: replace(v.args, "--log-level", "--log-level=loud") }, /--log-level/],
      ["old config version", { args: ["--config", f("containerd-v1.toml")] }, /version 1 is not supported/],
      ["malformed TOML", { args: ["--config", f("containerd-broken.toml")] }, /does not parse as TOML/],
      ["unknown section", { args: ["--config", f("containerd-unknown.toml")] }, /unknown field 'registry'/],
      ["absent config", { args: ["--config", f("absent.toml")] }, /--config: file .*absent\.toml does not exist/],
    ],
  },
  {
    name: "zot",
    valid: async () => {
      const port = await freePort();
      const doc = (key: string): string =>
        JSON.stringify({ distSpecVersion: "1.1.1", storage: { rootDirectory: f("data"), storageDriver: { name: "s3", bucket: "registry" } }, http: { address: "127.0.0.1", port: String(port), tls: { cert: f("crt/server.crt"), key: f(key), cacert: f("crt/ca.crt") } }, log: { level: "info" } });
      await writeFile(f("zot.json"), doc("crt/server.key"));
      await writeFile(f("zot-secret.json"), doc("crt/secret.key"));
      await writeFile(f("zot-broken.json"), doc("crt/server.key").slice(0, -2));
      await writeFile(f("zot-unknown.json"), doc("crt/server.key").replace('"log"', '"logging"'));
      // YAML by extension, as Podplane's zot.yml (JSON is YAML, so the same document parses).
      await writeFile(f("zot-unknown.yml"), doc("crt/server.key").replace('"log"', '"logging"'));
      await writeFile(f("zot-broken.yml"), "storage: [\n");
      return { run: { args: ["serve", f("zot.json")] }, target: { port } };
    },
    bad: () => [
      ["unknown flag", { args: ["--config", f("zot.json")] }, /unknown flag: --config/],
      ["missing command", { args: [] }, /no command/],
      ["malformed JSON", { args: ["serve", f("zot-broken.json")] }, /does not parse as JSON/],
      ["unknown key", { args: ["serve", f("zot-unknown.json")] }, /unknown field 'logging'/],
      ["unknown key (YAML)", { args: ["serve", f("zot-unknown.yml")] }, /unknown field 'logging'/],
      ["malformed YAML", { args: ["serve", f("zot-broken.yml")] }, /does not parse as YAML/],
      ["unreadable key", { args: ["serve", f("zot-secret.json")] }, /http\.tls|key.*secret\.key is not readable/, true],
    ],
  },
  {
    name: "netsy",
    valid: async () => {
      const ports = [await freePort(), await freePort(), await freePort(), await freePort()];
      const config = (id: string): string => `{\n  // cluster config (JSONC)\n  "cluster_id": "${id}",\n  "storage": {"provider": "s3", "bucket_name": "c-netsy", "class": "STANDARD"},\n  "heartbeat_interval": "1s",\n  "elector": {"degradation_count": 2, "primary_prior_timeout": "5s"},\n  "replication": {"quorum": -1, "chunk_buffer": {"threshold_size_mb": 4, "threshold_age_minutes": 1}},\n}\n`;
      await writeFile(f("netsy.jsonc"), config("standin"));
      await writeFile(f("netsy-badid.jsonc"), config("Standin_1"));
      await writeFile(f("netsy-broken.jsonc"), config("standin").replace('"storage":', '"storage"'));
      const env = {
        NETSY_CONFIG: f("netsy.jsonc"), NETSY_NODE_ID: "i-standin", NETSY_DATA_DIR: f("data"),
        NETSY_BIND_CLIENT: `127.0.0.1:${ports[0]}`, NETSY_BIND_PEER: `127.0.0.1:${ports[1]}`, NETSY_BIND_ELECTION: `127.0.0.1:${ports[2]}`, NETSY_BIND_HEALTH: `127.0.0.1:${ports[3]}`,
        NETSY_TLS_CA_CERT: f("crt/ca.crt"), NETSY_TLS_SERVER_CERT: f("crt/server.crt"), NETSY_TLS_SERVER_KEY: f("crt/server.key"),
        NETSY_TLS_CLIENT_CERT: f("crt/client.crt"), NETSY_TLS_CLIENT_KEY: f("crt/client.key"),
      };
      return { run: { args: [], env }, target: { port: ports[0] } };
    },
    bad: (v) => [
      ["unknown flag", { args: ["--listen-client-urls=http://127.0.0.1:2378"], env: v.env }, /unknown flag: --listen-client-urls/],
      ["missing TLS variable", { args: [], env: { ...v.env, NETSY_TLS_CA_CERT: "" } }, /NETSY_TLS_CA_CERT is required/],
      ["bad cluster_id", { args: [], env: { ...v.env, NETSY_CONFIG: f("netsy-badid.jsonc") } }, /cluster_id 'Standin_1'/],
      ["malformed JSON", { args: ["--config", f("netsy-broken.jsonc")], env: v.env }, /does not parse as JSON/],
      ["bad bind address", { args: [], env: { ...v.env, NETSY_BIND_CLIENT: "127.0.0.1" } }, /NETSY_BIND_CLIENT/],
      ["unreadable key", { args: [], env: { ...v.env, NETSY_TLS_SERVER_KEY: f("crt/secret.key") } }, /NETSY_TLS_SERVER_KEY: file .* is not readable/, true],
    ],
  },
  {
    name: "nstance-agent",
    valid: async () => {
      const port = await freePort();
      const env = {
        NSTANCE_SERVER_REGISTRATION_ADDR: "nstance.invalid:8443", NSTANCE_SERVER_AGENT_ADDR: "nstance.invalid:8444", NSTANCE_INSTANCE_ID: "i-standin",
        NSTANCE_IDENTITY_DIR: f("identity"), NSTANCE_KEYS_DIR: f("keys"), NSTANCE_RECV_DIR: f("recv"), NSTANCE_INSTANCE_IPV4: "10.0.0.5", NSTANCE_HEALTH_ADDR: `127.0.0.1:${port}`,
      };
      return { run: { args: [], env }, target: { port } };
    },
    bad: (v) => [
      ["unknown flag", { args: ["--server=nstance.invalid:8443"], env: v.env }, /unknown flag: --server/],
      ["missing address", { args: [], env: { ...v.env, NSTANCE_SERVER_REGISTRATION_ADDR: "" } }, /NSTANCE_SERVER_REGISTRATION_ADDR is required/],
      ["bad address", { args: [], env: { ...v.env, NSTANCE_SERVER_AGENT_ADDR: "nstance.invalid" } }, /NSTANCE_SERVER_AGENT_ADDR/],
      ["bad IP", { args: [], env: { ...v.env, NSTANCE_INSTANCE_IPV4: "fd00::5" } }, /NSTANCE_INSTANCE_IPV4/],
      ["absent identity", { args: [], env: { ...v.env, NSTANCE_IDENTITY_DIR: f("keys") } }, /identity CA: file .*ca\.crt does not exist/],
    ],
  },
  {
    name: "kube2iam",
    valid: async () => {
      const port = await freePort();
      const args = [`--app-port=${port}`, "--node=i-standin", "--host-interface=cni0", "--base-role-arn=arn:aws:iam::123456789012:role/", "--iptables=true", "--host-ip=10.0.0.5", "--log-level=info"];
      return { run: { args }, target: { port } };
    },
    bad: (v) => [
      ["unknown flag", { args: [...v.args, "--api-servers=https://x"] }, /unknown flag: --api-servers/],
      ["unreadable kubeconfig", { args: [...v.args, `--kubeconfig=${f("absent-kubeconfig")}`] }, /absent-kubeconfig/],
      ["bad ARN", { args: replace(v.args, "--base-role-arn", "--base-role-arn=role/") }, /invalid --base-role-arn/],
      ["bad level", { args: replace(v.args, "--log-level", "--log-level=loud") }, /--log-level/],
      ["iptables without host IP", { args: without(v.args, "--host-ip") }, /--iptables requires --host-ip/],
    ],
  },
  {
    name: "fluent-bit",
    valid: async () => {
      const port = await freePort();
      const yaml = (extra: string): string => `service:\n  flush: 1\n  http_server: on\n  http_listen: 127.0.0.1\n  http_port: ${port}\npipeline:\n  inputs:\n    - name: systemd\n  outputs:\n    - name: opentelemetry\n      match: "*"\n${extra}`;
      await writeFile(f("fluent-bit.yaml"), yaml(""));
      await writeFile(f("fluent-bit-unknown.yaml"), yaml("outputs: []\n"));
      await writeFile(f("fluent-bit-broken.yaml"), yaml("  - name: [\n"));
      return { run: { args: ["-c", f("fluent-bit.yaml")] }, target: { port } };
    },
    bad: () => [
      ["unknown flag", { args: ["-c", f("fluent-bit.yaml"), "--config-format=yaml"] }, /unknown flag: --config-format/],
      ["unknown section", { args: ["-c", f("fluent-bit-unknown.yaml")] }, /unknown field 'outputs'/],
      ["malformed YAML", { args: ["-c", f("fluent-bit-broken.yaml")] }, /does not parse as YAML/],
      ["absent config", { args: ["-c", f("absent.yaml")] }, /--config: file .*absent\.yaml does not exist/],
    ],
  },
];

describe.each(CASES)("the $name stand-in", (c) => {
  it("starts with a valid invocation, listens where the real binary would, and exits 0 on SIGTERM", async () => {
    const { run, target } = await c.valid();
    const result = await startListenStop(c.name, run, target);
    expect(result.stderr).toBe("");
    expect(result.listened).toBe(true);
    expect(result.code).toBe(0);
  });

  it("exits 2 naming an unknown flag, a missing flag, a malformed value, a bad file and a bad config", async () => {
    const { run } = await c.valid();
    const cases = c.bad(run);
    const results = await Promise.all(cases.map(([, bad, , asNobody]) => runOnce(c.name, bad, asNobody)));
    for (const [i, [what, , message]] of cases.entries()) {
      const result = results[i] as Result;
      expect(result.code, `${what}: ${result.stderr}`).toBe(2);
      expect(result.stderr, what).toMatch(new RegExp(`^${c.name}: `));
      expect(result.stderr, what).toMatch(message);
    }
  });

  it("prints a version line", async () => {
    const result = await runOnce(c.name, { args: ["--version"] });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/v?\d+\.\d+\.\d+ \(podplane stand-in\)\n$/);
  });
});

describe("tool stand-ins", () => {
  it.each([
    ["kubectl", ["version"], /^Client Version: v1\.36\.1/],
    ["crictl", ["--version"], /^crictl version v9\.9\.9/],
    ["runc", ["--version"], /^runc version 9\.9\.9/],
    ["ctr", ["--version"], /^ctr github\.com\/containerd\/containerd\/v2 v9\.9\.9/],
    ["bridge", ["--version"], /^CNI bridge plugin v9\.9\.9/],
    ["newuidmap", ["--version"], /^newuidmap from shadow-utils 9\.9\.9/],
  ])("%s prints its version and refuses an unknown flag", async (name, args, line) => {
    expect((await runOnce(name, { args })).stdout).toMatch(line);
    const bad = await runOnce(name, { args: ["--no-such-flag"] });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown flag: --no-such-flag/);
  });
});
