// testImage: boot a throw-away overlay of an image with the slim user-data and Podplane-format
// inputs, then check that it came up (first boot), applies an Nstance delivery (certificates,
// keys, mutable.env), takes a live update, refuses invalid and hostile deliveries, rotates one
// certificate restarting exactly its services, survives a reboot, and never downloads. Each
// check is printed through onProgress as it finishes. The VM is always stopped (finally,
// AbortSignal, and process signal handlers in qemu.ts).
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { defaultCacheDir } from "../cli/options.js";
import { WorkError } from "../errors/index.js";
import type { Arch, Kind } from "../manifest/schema.js";
import type { Accelerator } from "../packer/accelerator.js";
import { assertEmulator, chooseAccelerator } from "./emulator.js";
import { bootTimeScale, recordBootSpeed, scaled, scaleSsh, type TimeScale } from "./speed.js";
import { renderUserData, type UserDataFormat } from "../userdata/index.js";
import {
  checkBootstrap,
  checkCloudInit,
  checkDelivery,
  checkHostileDelivery,
  checkIdentity,
  checkInvalidUpdate,
  checkLiveUpdate,
  checkContainerRuns,
  checkImagesPreloaded,
  checkNoDownload,
  checkNodeName,
  checkRuntimeReady,
  checkReboot,
  checkRotation,
  checkServiceEnv,
  checkServices,
  CHECK_NAMES,
  foldChecks,
  GUEST,
  preloadedImages,
  REQUIRED_CNI_PLUGINS,
  RUNTIME_GLOBS,
  serviceUsers,
  unitOf,
  type CheckContext,
  type ImageCheck,
  type PinnedImage,
} from "./checks.js";
import { DELIVERY_SSH_TIMEOUT_MS, deliveryScript, digestsOf, hostileCases, sha256, type DeliveryStep } from "./deliver.js";
import { deliveredMutableEnv, generateDelivery, issueCertificate, readDeliveryDir, certificateSpecs, type DeliveryFile, type DeliveryIdentity } from "./delivery.js";
import { formatEnvFile, parseEnvFile } from "./envfile.js";
import { guestForward, startCountingListener, startSentinel } from "./listeners.js";
import { probeGuest, probeRuntime, type GuestSnapshot, type ProbeRequest } from "./probe.js";
import type { DirectBoot, Vm } from "./qemu.js";
import { startTestVm } from "./session.js";
import { runRetryingSshDrops, waitForSsh, type SshClient } from "./ssh.js";
import {
  formatUserDataEnv,
  invalidUpdates,
  liveUpdate,
  NSTANCE_GUEST,
  readUserDataEnvFile,
  testMutableEnv,
  TEST_NONCE,
  testUserDataEnv,
  type EnvPairs,
  type Provider,
} from "./test-env.js";
import { allServiceNames, loadVmconfigSpec } from "./vmconfig-spec.js";

export interface ImageTestReport {
  image: string;
  kind: Kind;
  ok: boolean;
  checks: ImageCheck[];
  logPath: string;
  seconds: number;
}

export interface TestImageOptions {
  image: string;
  kind: Kind;
  workDir?: string;
  signal?: AbortSignal;
  /** PROVIDER_KIND of the generated user-data.env (default local); ignored with userDataEnvFile. */
  provider?: Provider;
  /** A user-data.env in Podplane's format to boot with instead of the generated one. */
  userDataEnvFile?: string;
  /** A delivery (DIR/recv, DIR/keys) to send instead of the generated one. */
  deliveryDir?: string;
  arch?: Arch;
  format?: UserDataFormat;
  /** Default: the bake's probe (KVM only if a guest really boots with it; PODPLANE_ACCEL=kvm|tcg skips it). */
  accel?: Accelerator;
  /** Where the accelerator verdict and the boot-speed record are kept (build's --cache); default $PODPLANE_IMAGES_CACHE or ~/.cache/podplane-images. */
  cacheDir?: string;
  /** The user-data to boot with instead of the slim one rendered from the test env (tests, benchmarks). */
  userData?: (env: ReadonlyArray<readonly [string, string]>) => string;
  /** The images the manifest pins (vmconfig.images); default: those installed.json lists as preloaded. */
  images?: readonly PinnedImage[];
  /** Keep the overlay and seed for inspection. */
  keep?: boolean;
  /** Direct kernel boot: files already extracted from the image and checked against its os.boot record. */
  directBoot?: DirectBoot | undefined;
  onProgress?: (line: string) => void;
}

const SSH_TIMEOUT_MS = 6 * 60_000;
const CLOUD_INIT_TIMEOUT_S = 600;
/** The guest address download host names resolve to (seed.ts), and the ports forwarded from it. */
const SENTINEL_GUEST = "10.0.2.101";
const SENTINEL_PORTS = [80, 443] as const;
const CANARY_PATH = "/podplane-boot-test-canary";
/** Hosts a boot-time download would use: Debian's archive, the upstream release hosts of the pinned artifacts, the SSM agent's bucket. */
export const DOWNLOAD_HOSTS = [
  "deb.debian.org",
  "security.debian.org",
  "github.com",
  "objects.githubusercontent.com",
  "release-assets.githubusercontent.com",
  "dl.k8s.io",
  "cdn.dl.k8s.io",
  "storage.googleapis.com",
  "s3.amazonaws.com",
  "packages.fluentbit.io",
] as const;
/** The certificate a rotation renews, and hostile deliveries aim at. */
const ROTATED = "kubelet.server";

/** Waits for cloud-init and for systemd to finish starting up; returns what it saw. */
async function waitForBoot(ssh: SshClient, scale: TimeScale): Promise<string> {
  // The guest-side limits scale too (the host-side ones scale in scaleSsh).
  const cloudInitS = Math.round(scaled(CLOUD_INIT_TIMEOUT_S, scale));
  const systemS = Math.round(scaled(300, scale));
  const cloudInit = await runRetryingSshDrops(ssh, `sudo -n timeout ${cloudInitS} cloud-init status --wait >/dev/null; sudo -n cloud-init status`, { timeoutMs: (CLOUD_INIT_TIMEOUT_S + 30) * 1000 });
  const system = await runRetryingSshDrops(ssh, `timeout ${systemS} systemctl is-system-running --wait`, { timeoutMs: 330_000 });
  return `${cloudInit.stdout.trim()}; system ${system.stdout.trim()}`;
}

async function reboot(ssh: SshClient, vm: Vm, bootId: string, signal: AbortSignal | undefined, scale: TimeScale): Promise<void> {
  await ssh.run("sudo -n systemctl reboot", { timeoutMs: 30_000 }).catch(() => undefined);
  const start = performance.now();
  const limitMs = scaled(SSH_TIMEOUT_MS, scale);
  while (performance.now() - start < limitMs) {
    if (signal?.aborted) throw new WorkError("EABORTED", "the boot test was cancelled");
    if (!vm.isRunning()) throw new WorkError("EVMEXITED", `the VM stopped during the reboot: ${await vm.exited}`);
    const result = await ssh.run("cat /proc/sys/kernel/random/boot_id", { timeoutMs: 30_000 }).catch(() => undefined);
    if (result?.exitCode === 0 && result.stdout.trim() !== bootId) return;
    await new Promise((resolve) => setTimeout(resolve, 3000));
  }
  throw new WorkError("ESSHTIMEOUT", `the VM did not come back within ${limitMs / 1000} s of the reboot`);
}

interface Inputs {
  userDataEnv: EnvPairs;
  files: DeliveryFile[];
  /** The CA the delivery was signed with, when generated here (a rotation needs it). */
  caDir?: string;
  identity: DeliveryIdentity;
  mutableText: string;
}

/** The user-data.env and delivery of this run: given, or generated (a delivery with a throw-away CA). */
async function prepareInputs(options: TestImageOptions, workDir: string): Promise<Inputs> {
  const given = options.userDataEnvFile ? await readUserDataEnvFile(options.userDataEnvFile) : undefined;
  const env = new Map(given ?? testUserDataEnv(options.kind, options.provider ?? "local"));
  const identity: DeliveryIdentity = {
    kind: options.kind,
    instanceId: env.get("INSTANCE_ID") ?? "",
    clusterId: env.get("CLUSTER_ID") || "boot-test",
    ipv4: "10.0.2.15",
    apiHostname: "api.boot-test.invalid",
  };
  if (options.deliveryDir) {
    const files = await readDeliveryDir(options.deliveryDir);
    const mutableText = deliveredMutableEnv(files) ?? formatEnvFile(testMutableEnv(options.kind, identity.clusterId));
    const userDataEnv = given ?? testUserDataEnv(options.kind, options.provider ?? "local", files.find((f) => f.from === "recv" && f.name === "ca.crt")?.content.toString("utf8") ?? "", identity.instanceId);
    return { userDataEnv, files, identity, mutableText };
  }
  const caDir = path.join(workDir, "ca");
  const generated = await generateDelivery({ dir: path.join(workDir, "delivery"), caDir, identity, mutableEnv: testMutableEnv(options.kind, identity.clusterId) });
  const files = await readDeliveryDir(generated.dir);
  const userDataEnv = given ?? testUserDataEnv(options.kind, options.provider ?? "local", generated.caPem, identity.instanceId);
  return { userDataEnv, files, caDir, identity, mutableText: deliveredMutableEnv(files) ?? "" };
}

/** NSTANCE_CA_CERT as the identity file holds it: a PEM as is, else base64 of one. */
function caFileDigest(env: ReadonlyMap<string, string>): string | undefined {
  const value = env.get("NSTANCE_CA_CERT");
  if (!value) return undefined;
  const pem = value.includes("-----BEGIN") ? value : Buffer.from(value, "base64").toString("utf8");
  return sha256(`${pem.replace(/\n+$/, "")}\n`);
}

export async function testImage(options: TestImageOptions): Promise<ImageTestReport> {
  const started = performance.now();
  const progress = options.onProgress ?? (() => undefined);
  // A missing emulator or firmware is a usage error before anything is written or booted.
  await assertEmulator(options.arch ?? "amd64");
  const workDir = options.workDir ?? (await mkdtemp(path.join(os.tmpdir(), "podplane-test-image-")));
  await mkdir(workDir, { recursive: true });
  const logPath = path.join(workDir, "serial.log");
  const spec = loadVmconfigSpec();
  const inputs = await prepareInputs(options, workDir);
  const userDataEnv = inputs.userDataEnv;
  const envMap = new Map(userDataEnv);
  const userData = options.userData?.(userDataEnv) ?? renderUserData({ kind: options.kind, format: options.format ?? "script", env: userDataEnv, nonce: TEST_NONCE });
  await writeFile(path.join(workDir, "user-data.env"), formatUserDataEnv(userDataEnv), { mode: 0o600 });
  const ctx: CheckContext = { kind: options.kind, spec, userDataEnv, userData, delivered: digestsOf(inputs.files) };

  const arch = options.arch ?? "amd64";
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const accel = options.accel ?? (await chooseAccelerator(arch, { image: options.image, cacheDir, signal: options.signal })).accelerator;
  const scale = await bootTimeScale(arch, accel, cacheDir);
  if (scale.factor !== 1) progress(`timeouts ×${scale.factor} (${scale.reason})`);
  const registration = await startCountingListener();
  const agent = await startCountingListener();
  const sentinel = await startSentinel(SENTINEL_PORTS, CANARY_PATH);
  const closeListeners = (): Promise<unknown> => Promise.all([registration.close(), agent.close(), sentinel.close()]);
  const guestForwards = [
    guestForward(NSTANCE_GUEST.host, NSTANCE_GUEST.registrationPort, registration.port),
    guestForward(NSTANCE_GUEST.host, NSTANCE_GUEST.agentPort, agent.port),
    ...SENTINEL_PORTS.map((port) => guestForward(SENTINEL_GUEST, port, sentinel.ports.get(port) ?? 0)),
  ];
  const provider = envMap.get("PROVIDER_KIND") ?? "?";
  const how = options.directBoot ? `direct kernel boot (${path.basename(options.directBoot.kernel)}; ${options.directBoot.cmdline})` : "its boot loader";
  progress(`booting ${options.image} (${options.kind}, provider ${provider}) under ${accel} by ${how}; serial log ${logPath}`);
  const session = await startTestVm({
    image: options.image,
    userData,
    workDir,
    accel,
    hostname: `podplane-test-${options.kind}`,
    arch: options.arch,
    signal: options.signal,
    keep: options.keep,
    directBoot: options.directBoot,
    guestForwards,
    sentinel: { address: SENTINEL_GUEST, hosts: DOWNLOAD_HOSTS },
  }).catch(async (error: unknown) => {
    await closeListeners();
    throw error;
  });
  const { vm } = session;
  const ssh = scaleSsh(session.ssh, scale);
  const checks: ImageCheck[] = [];
  const done = (check: ImageCheck): void => {
    checks.push(check);
    progress(`${check.ok ? "ok  " : "FAIL"} ${check.name}: ${check.evidence}`);
  };
  const request: ProbeRequest = {
    units: [...allServiceNames(spec).map(unitOf), "podplane-configure.service", "nstance-recv-watch.path", "nstance-recv-watch.service"],
    paths: [GUEST.userDataEnv, GUEST.detectedEnv, GUEST.mutableEnv, GUEST.cloudConfig, GUEST.injectionMarker, GUEST.nonce, GUEST.identityCa],
    globs: [...RUNTIME_GLOBS, `${GUEST.standinDir}/*.args`],
    connect: { host: "10.0.2.2", port: sentinel.port },
    users: serviceUsers(spec, options.kind),
    access: ["/opt/key/*/*", `${GUEST.serviceEnvDir}/*.env`],
  };
  const snapshots: GuestSnapshot[] = [];
  const snapshot = async (extra: Partial<ProbeRequest> = {}): Promise<GuestSnapshot> => {
    const taken = await probeGuest(ssh, { ...request, ...extra });
    snapshots.push(taken);
    return taken;
  };
  /** Sends one delivery; a watcher that did not run fails the given check. */
  const deliver = async (step: DeliveryStep): Promise<{ after: GuestSnapshot; failure?: string }> => {
    const sent = await ssh.run("sudo -n bash -s", { input: deliveryScript(step), timeoutMs: DELIVERY_SSH_TIMEOUT_MS });
    const after = await snapshot();
    return { after, failure: sent.exitCode === 0 ? undefined : `delivery script exit ${sent.exitCode}: ${`${sent.stdout}${sent.stderr}`.trim().split("\n").slice(-2).join(" | ")}` };
  };
  const failed = (check: ImageCheck, failure: string | undefined): ImageCheck => (failure ? { ...check, ok: false, evidence: `FAIL: ${failure}; ${check.evidence}` } : check);
  try {
    const sshSeconds = await waitForSsh(ssh, { timeoutMs: scaled(SSH_TIMEOUT_MS, scale), alive: () => vm.isRunning(), describeDeath: () => vm.exited, signal: options.signal });
    progress(`ssh answered after ${sshSeconds.toFixed(0)} s; waiting for cloud-init`);
    await recordBootSpeed(arch, accel, sshSeconds, cacheDir).catch(() => undefined);
    progress(`boot finished: ${await waitForBoot(ssh, scale)}`);

    const first = await snapshot();
    done(checkCloudInit(ctx, first));
    done(checkBootstrap(ctx, first));
    done(checkIdentity(ctx, first, { registrationConnections: registration.connections(), caSha256: caFileDigest(envMap) }));

    progress(`delivering ${inputs.files.length} files into recv/ and keys/ as nstance-agent`);
    const initial = await deliver({ files: inputs.files });
    done(failed(checkDelivery(ctx, initial.after), initial.failure));
    done(checkServiceEnv(ctx, initial.after));
    done(checkServices(ctx, initial.after));
    done(checkNodeName(ctx, initial.after));

    // The container runtime: containerd up with its config, the pinned images preloaded, and a
    // container from the pause image run under runc (ctr run never pulls; the sentinel and the
    // restricted network see to the rest).
    const expectedImages = options.images ?? preloadedImages((await probeRuntime(ssh, { cniPlugins: [] })).installed);
    const pause = expectedImages.find((i) => i.image.startsWith("registry.k8s.io/pause:"));
    const runtime = await probeRuntime(ssh, { cniPlugins: [...REQUIRED_CNI_PLUGINS], run: pause ? { image: pause.image, args: ["/pause", "-v"] } : undefined });
    done(checkRuntimeReady(runtime));
    done(checkImagesPreloaded(runtime, expectedImages));
    done(checkContainerRuns(runtime, /pause/));

    progress("live update: delivering a Podplane-format mutable.env");
    const liveText = liveUpdate(parsePairs(inputs.mutableText));
    const live = await deliver({ files: [mutableFile(liveText)] });
    done(failed(checkLiveUpdate(ctx, initial.after, live.after, liveText), live.failure));

    let previous = live.after;
    const invalid: Array<{ label: string; check: ImageCheck }> = [];
    for (const update of invalidUpdates(parsePairs(liveText), GUEST.injectionMarker)) {
      progress(`invalid update: a mutable.env with a ${update.label}`);
      const before = previous;
      // Put the accepted file back afterwards, so the next delivery does not carry the invalid one.
      const result = await deliver({ files: [mutableFile(update.content)], cleanup: restoreMutable(liveText) });
      invalid.push({ label: update.label, check: failed(checkInvalidUpdate(ctx, before, result.after), result.failure) });
      previous = result.after;
    }
    done(foldChecks(CHECK_NAMES.invalidUpdate, invalid));

    const rotation = await rotationFiles(inputs, workDir);
    if (rotation) {
      progress(`rotation: delivering a renewed ${ROTATED}.crt and its key`);
      const before = previous;
      const result = await deliver({ files: rotation });
      done(failed(checkRotation(ctx, before, result.after, digestsOf(rotation)), result.failure));
      previous = result.after;
    } else {
      done({ name: CHECK_NAMES.rotation, ok: false, evidence: `FAIL: the delivery has no ${ROTATED}.crt, or its CA key is not here (a given --delivery): nothing to rotate` });
    }

    const pem = inputs.files.find((f) => f.from === "recv" && f.name === "ca.crt")?.content.toString("utf8").trim() ?? "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----";
    const hostile: Array<{ label: string; check: ImageCheck }> = [];
    const validChange = formatEnvFile(parsePairs(liveText).map(([k, v]) => [k, k === "KUBE_LOG_LEVEL" ? "7" : v]));
    for (const item of hostileCases({ target: `${ROTATED}.crt`, pem, validChange, previousMutable: liveText })) {
      progress(`hostile delivery: ${item.label}`);
      const before = previous;
      const result = await deliver(item.step);
      hostile.push({ label: item.label, check: failed(checkHostileDelivery(ctx, before, result.after), result.failure) });
      previous = result.after;
    }
    done(foldChecks(CHECK_NAMES.hostile, hostile));

    progress("rebooting");
    await reboot(ssh, vm, previous.bootId, options.signal, scale);
    progress(`back after the reboot: ${await waitForBoot(ssh, scale)}`);
    const rebooted = await snapshot({ canary: `http://${DOWNLOAD_HOSTS[0]}${CANARY_PATH}` });
    done(checkReboot(ctx, previous, rebooted));
  } catch (error) {
    if (options.signal?.aborted) throw new WorkError("EABORTED", "the boot test was cancelled", {}, { cause: error, logPath });
    const message = error instanceof Error ? error.message : String(error);
    done({ name: "boot", ok: false, evidence: `FAIL: ${message}` });
  } finally {
    await session.close();
  }
  const sentinelRecord = { guestAddress: SENTINEL_GUEST, hosts: DOWNLOAD_HOSTS, connections: sentinel.connections(), canaryPath: CANARY_PATH, hostPort: sentinel.port };
  await closeListeners();
  if (snapshots.length > 0) done(checkNoDownload(snapshots, sentinelRecord));
  const ok = checks.length > 0 && checks.every((c) => c.ok);
  const report: ImageTestReport = { image: options.image, kind: options.kind, ok, checks, logPath, seconds: (performance.now() - started) / 1000 };
  await writeFile(path.join(workDir, "report.json"), `${JSON.stringify({ ...report, sentinel: sentinelRecord, snapshots }, null, 2)}\n`);
  return report;
}

function parsePairs(text: string): EnvPairs {
  const parsed = parseEnvFile(text);
  return parsed.names.map((name) => [name, parsed.values.get(name) ?? ""]);
}

function mutableFile(content: string): DeliveryFile {
  return { from: "recv", name: "mutable.env", content: Buffer.from(content) };
}

/** Guest lines that put the accepted mutable.env back into recv/ without a new write-files.last. */
function restoreMutable(content: string): string[] {
  return [`printf '%s' '${Buffer.from(content).toString("base64")}' | base64 -d >${GUEST.recvDir}/mutable.env`];
}

/** A renewed kubelet.server certificate + key from the run's CA (undefined for a given delivery without its CA). */
async function rotationFiles(inputs: Inputs, workDir: string): Promise<DeliveryFile[] | undefined> {
  const spec = certificateSpecs(inputs.identity).find((c) => c.name === ROTATED);
  if (!inputs.caDir || !spec || !inputs.files.some((f) => f.name === `${ROTATED}.crt`)) return undefined;
  const dir = path.join(workDir, "rotation");
  await issueCertificate(inputs.caDir, dir, spec, inputs.identity);
  return (await readDeliveryDir(dir)).filter((f) => f.name.startsWith(`${ROTATED}.`));
}
