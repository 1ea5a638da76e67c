// install.sh + configure + every service's run.sh and config writer against the strict stand-in
// artifacts (upstream names and layouts; each exits 2 on an unknown flag, a missing file or a bad
// config), on the host in a temporary PODPLANE_ROOT with stub systemctl/dpkg/ip/...: the fast
// version of the boot test. The inputs are in Podplane's formats: user-data.env as Podplane's
// user-data writes it, and an Nstance delivery (certificates of a throw-away CA, the keys
// nstance-agent would generate, the Podplane CLI's mutable.env) applied as on a VM, through
// nstance-recv-watch.sh. Then each service that applies starts from its run.sh with its env file
// loaded as systemd's EnvironmentFile= would, and its stand-in must stay up and listen where the
// real binary listens. PODPLANE_STANDIN_ROOT makes the stand-ins look up absolute VM paths under
// PODPLANE_ROOT.
import { execFile, spawn } from "node:child_process";
import { cp, copyFile, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { createConnection } from "node:net";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { generateDelivery } from "../../pipeline/boot/delivery.js";
import { formatUserDataEnv, type Provider, TEST_CLUSTER_ID, TEST_INSTANCE_ID, testMutableEnv, testUserDataEnv } from "../../pipeline/boot/test-env.js";
import type { Kind } from "../../pipeline/manifest/schema.js";
import { generateStandinMirror } from "../fixtures/standins/index.js";
import { REPO, tempDir, VMCONFIG_TREE } from "./helpers.js";

const execFileP = promisify(execFile);

/** The address the `ip` stub (test/bats/helpers/vmconfig.bash) gives the instance. */
const INSTANCE_IPV4 = "10.0.2.15";

/** Where each stand-in listens once it started (as the real binary would, given run.sh's flags and the configs). */
type Target = { port: number; host?: string } | { socket: string };
const LISTENS: Record<string, Target | undefined> = {
  "kube-apiserver": { port: 6443 },
  "kube-controller-manager": { port: 10257 },
  "kube-scheduler": { port: 10259 },
  kubelet: { port: 10250 },
  containerd: { socket: "/run/containerd/containerd.sock" },
  netsy: { port: 2378 },
  kube2iam: { port: 8181 },
  zot: undefined, // the port its config.json names (read below)
  "fluent-bit": undefined, // listens only when its config turns the HTTP server on
  "nstance-agent": undefined, // listens only with NSTANCE_HEALTH_ADDR
};

async function exists(file: string): Promise<boolean> {
  return stat(file).then(() => true, () => false);
}

async function connects(target: Target, root: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = "socket" in target ? createConnection(path.join(root, target.socket)) : createConnection(target.port, target.host ?? "127.0.0.1");
    sock.once("connect", () => {
      sock.destroy();
      resolve(true);
    });
    sock.once("error", () => resolve(false));
  });
}

interface Node {
  dir: string;
  root: string;
  env: NodeJS.ProcessEnv;
  calls: string;
}

/** A stage of the kind's stand-in artifacts (artifacts.tsv + files), as the bake gives install.sh. */
async function standinStage(dir: string, kind: Kind): Promise<string> {
  const stage = path.join(dir, "stage");
  const mirror = await generateStandinMirror({ dir: path.join(dir, "gen"), kinds: [kind], arches: ["amd64"] });
  const lines: string[] = [];
  for (const a of mirror.artifacts.filter((x) => x.arch === "amd64").sort((x, y) => x.name.localeCompare(y.name))) {
    const rel = `artifacts/${a.name}/${path.basename(new URL(a.url).pathname)}`;
    await mkdir(path.join(stage, "artifacts", a.name), { recursive: true });
    await copyFile(a.path, path.join(stage, rel));
    lines.push([a.name, a.version, a.type, a.digest, rel].join("\t"));
  }
  await writeFile(path.join(stage, "artifacts.tsv"), `${lines.join("\n")}\n`);
  return stage;
}

/**
 * install.sh of `kind`, the user-data's files, then an Nstance delivery applied through
 * nstance-recv-watch.sh (which runs update-mutable-env.sh, configure.sh and restart.sh).
 */
async function bootNode(kind: Kind, provider: Provider): Promise<Node> {
  const dir = await tempDir(`pp-standin-${kind}-`);
  const root = path.join(dir, "root");
  const bin = path.join(dir, "bin");
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PODPLANE_ROOT: root,
    STUB_LOG: path.join(dir, "calls.log"),
    STUB_STATE: path.join(dir, "stub-state"),
    PATH: `${bin}:${process.env.PATH ?? "/usr/bin:/bin"}`,
    PODPLANE_RECV_SETTLE: "0",
  };
  // The bats suites' stubs: systemctl, sysusers, dpkg, logger (stubs.bash), hostname, ip,
  // useradd, cloud-init, chown (vmconfig.bash) and a systemd-tmpfiles that makes the directories
  // (rooms-fixture.bash).
  const helpers = path.join(REPO, "test/bats/helpers");
  await execFileP("bash", ["-c", `set -e; source "${helpers}/vmconfig.bash"; source "${helpers}/rooms-fixture.bash"; vmconfig_setup; fixture_stubs`], {
    env: { ...env, BATS_TEST_DIRNAME: path.join(REPO, "test/bats"), BATS_TEST_TMPDIR: dir },
  });
  // dpkg also unpacks the .debs into the root, so that fluent-bit's binary is there.
  await writeFile(
    path.join(bin, "dpkg"),
    '#!/bin/bash\necho "dpkg $*" >>"$STUB_LOG"\nfor a in "$@"; do\n  [[ $a == *.deb ]] || continue\n  dpkg-deb -x "$a" "$PODPLANE_ROOT"\n  dpkg-deb -f "$a" Version >"$STUB_STATE/dpkg.$(dpkg-deb -f "$a" Package)"\ndone\n',
  );
  await execFileP("bash", [path.join(VMCONFIG_TREE, "opt/podplane/bin/install.sh"), kind, await standinStage(dir, kind)], { env });

  const mutableEnv = testMutableEnv(kind);
  const delivery = await generateDelivery({
    dir: path.join(dir, "delivery"),
    caDir: path.join(dir, "ca"),
    identity: { kind, instanceId: TEST_INSTANCE_ID, clusterId: TEST_CLUSTER_ID, ipv4: INSTANCE_IPV4, apiHostname: new Map(mutableEnv).get("KUBE_API_PUBLIC_HOSTNAME") },
    mutableEnv,
  });
  // What Podplane's user-data writes: user-data.env, the agent's nonce and CA.
  await mkdir(path.join(root, "opt/podplane/etc"), { recursive: true });
  await writeFile(path.join(root, "opt/podplane/etc/user-data.env"), formatUserDataEnv(testUserDataEnv(kind, provider, delivery.caPem)), { mode: 0o600 });
  const agent = path.join(root, "opt/nstance-agent");
  await mkdir(path.join(agent, "identity"), { recursive: true });
  await writeFile(path.join(agent, "identity/nonce.jwt"), "eyJhbGciOiJFUzI1NiJ9.standin.nonce\n", { mode: 0o600 });
  await writeFile(path.join(agent, "identity/ca.crt"), delivery.caPem, { mode: 0o600 });
  // What Nstance and nstance-agent do: flat files into recv/ and keys/, then the trigger.
  await cp(path.join(delivery.dir, "recv"), path.join(agent, "recv"), { recursive: true });
  await cp(path.join(delivery.dir, "keys"), path.join(agent, "keys"), { recursive: true });
  await writeFile(path.join(agent, "recv/write-files.last"), "");
  const watch = await execFileP("bash", [path.join(root, "opt/podplane/bin/nstance-recv-watch.sh")], { env }).catch((error: { stderr?: string; message: string }) => {
    throw new Error(`nstance-recv-watch.sh failed: ${error.stderr ?? error.message}`);
  });
  expect(watch.stderr).toMatch(/applied the delivery/);
  return { dir, root, env, calls: await readFile(path.join(dir, "calls.log"), "utf8") };
}

/** The services restart.sh started (systemctl stub log). */
function startedServices(calls: string): string[] {
  return [...calls.matchAll(/^systemctl (?:start|restart) (\S+)\.service$/gm)].map((m) => m[1] ?? "").filter((s, i, all) => all.indexOf(s) === i).sort();
}

/** What systemd does for the unit before ExecStart= that the stand-ins notice: its StateDirectory= exists. */
async function prepareUnit(root: string, service: string): Promise<void> {
  const unit = await readFile(path.join(root, "etc/systemd/system", `${service}.service`), "utf8");
  for (const m of unit.matchAll(/^StateDirectory=(.+)$/gm)) {
    for (const d of (m[1] ?? "").split(/\s+/).filter(Boolean)) await mkdir(path.join(root, "var/lib", d), { recursive: true });
  }
}

async function listenTarget(root: string, service: string): Promise<Target | undefined> {
  if (service === "zot") {
    const config = JSON.parse(await readFile(path.join(root, "opt/zot/etc/config.json"), "utf8")) as { http: { address?: string; port: string | number } };
    return { port: Number(config.http.port), host: config.http.address };
  }
  return LISTENS[service];
}

/**
 * Starts services/<svc>/run.sh as its unit would (the env file loaded with `set -a`), waits
 * until the stand-in recorded its start (it does so after its checks passed and its sockets
 * were bound) or exited, checks that it listens, then stops it. Returns a failure message or "".
 */
async function runService(node: Node, service: string): Promise<string> {
  const { root, dir } = node;
  await prepareUnit(root, service);
  const standinDir = path.join(dir, "standin", service);
  const child = spawn("bash", ["-c", 'set -a; source "$1"; set +a; exec "$2"', "_", path.join(root, "opt/env", `${service}.env`), path.join(root, "opt/podplane/services", service, "run.sh")], {
    env: { PATH: process.env.PATH, PODPLANE_ROOT: root, PODPLANE_STANDIN_ROOT: root, PODPLANE_STANDIN_DIR: standinDir },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  // Every service's binary has the service's name (the stand-in records under it).
  const started = path.join(standinDir, `${service}.starts`);
  const until = Date.now() + 10_000;
  while (child.exitCode === null && child.signalCode === null && !(await exists(started)) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 25));
  }
  try {
    if (child.exitCode !== null || child.signalCode !== null) return `${service}: exited ${child.exitCode ?? child.signalCode} at start: ${stderr.trim()}`;
    if (!(await exists(started))) return `${service}: no start record in 10 s: ${stderr.trim()}`;
    const target = await listenTarget(root, service);
    if (target && !(await connects(target, root))) return `${service}: does not listen on ${JSON.stringify(target)}: ${stderr.trim()}`;
    return "";
  } finally {
    child.kill("SIGTERM");
    await exited;
  }
}

const CASES: Array<{ kind: Kind; provider: Provider; services: string[] }> = [
  {
    // local: no kube2iam; testMutableEnv turns telemetry on for knc (fluent-bit) and the registry on (zot).
    kind: "knc",
    provider: "local",
    services: ["containerd", "fluent-bit", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "netsy", "nstance-agent", "zot"],
  },
  {
    // aws: kube2iam; telemetry off on knd (no fluent-bit), the registry on (zot).
    kind: "knd",
    provider: "aws",
    services: ["containerd", "kube2iam", "kubelet", "nstance-agent", "zot"],
  },
];

describe("vmconfig with the stand-in artifacts", () => {
  it.each(CASES)("$kind on $provider: install, user-data, a delivery through nstance-recv-watch, and every service's run.sh satisfies its stand-in", async ({ kind, provider, services }) => {
    const node = await bootNode(kind, provider);
    expect(startedServices(node.calls)).toEqual(services);
    const failures: string[] = [];
    // containerd is Debian's real binary now, not a stand-in: it would run against the host's
    // /run and /var/lib. Its generated config is started with the real binary, in a temporary
    // root, by test/standins/runtime.test.ts.
    for (const service of services.filter((s) => s !== "containerd")) {
      const failure = await runService(node, service);
      if (failure) failures.push(failure);
    }
    expect(failures).toEqual([]);
    if (kind === "knc") {
      const apiserver = await readFile(path.join(node.dir, "standin/kube-apiserver/kube-apiserver.args"), "utf8");
      expect(apiserver).toMatch(/^--etcd-servers=https:\/\/127\.0\.0\.1:2378$/m);
    }
  }, 60_000);
});
