// The named checks on snapshots of a healthy boot (fixtures/snapshots.ts), then on copies broken
// one way at a time: each check must fail on its own kind of breakage (issue 13 item 6).
import { describe, expect, it } from "vitest";
import {
  checkBootstrap,
  checkCloudInit,
  checkDelivery,
  checkHostileDelivery,
  checkIdentity,
  checkInvalidUpdate,
  changedVariables,
  checkLiveUpdate,
  checkNoDownload,
  checkNodeName,
  checkReboot,
  checkRotation,
  checkServiceEnv,
  checkServices,
  CHECK_NAMES,
  foldChecks,
  GUEST,
  servicesUsing,
  type ImageCheck,
  type SentinelRecord,
} from "../../pipeline/boot/checks.js";
import type { GuestSnapshot } from "../../pipeline/boot/probe.js";
import { afterLiveUpdate, context, healthy } from "./fixtures/snapshots.js";

const IDENTITY = { registrationConnections: 2, caSha256: "ca-digest" };
const SENTINEL: SentinelRecord = {
  guestAddress: "10.0.2.101",
  hosts: ["deb.debian.org", "github.com"],
  connections: [{ port: 80, firstLine: "GET /podplane-boot-test-canary HTTP/1.1" }],
  canaryPath: "/podplane-boot-test-canary",
  hostPort: 40000,
};

function failsWith(result: ImageCheck, text: string | RegExp): void {
  expect(result.ok, result.evidence).toBe(false);
  if (typeof text === "string") expect(result.evidence).toContain(text);
  else expect(result.evidence).toMatch(text);
}

/** A snapshot identical in state to `s` (same PIDs, files), as after a refused delivery that logged. */
function refusedCopy(s: GuestSnapshot): GuestSnapshot {
  const copy = structuredClone(s);
  copy.journal = [...s.journal, "nstance-recv-watch: refused recv/evil.crt: not in the allowlist; nothing applied"];
  return copy;
}

describe("checks on a healthy knc boot", () => {
  const ctx = context("knc");
  const booted = healthy(ctx);

  it("all pass", () => {
    const { text, after } = afterLiveUpdate(ctx, booted);
    const refused = refusedCopy(after);
    const rebooted = healthy(ctx, { mutable: text, bootId: "boot-2", pidBase: 900 });
    for (const name of Object.keys(rebooted.files)) if (refused.files[name]) rebooted.files[name] = structuredClone(refused.files[name] ?? null);
    const results = [
      checkCloudInit(ctx, booted),
      checkBootstrap(ctx, booted),
      checkIdentity(ctx, booted, IDENTITY),
      checkDelivery(ctx, booted),
      checkServiceEnv(ctx, booted),
      checkServices(ctx, booted),
      checkNodeName(ctx, booted),
      checkLiveUpdate(ctx, booted, after, text),
      checkInvalidUpdate(ctx, after, refused),
      checkHostileDelivery(ctx, after, refused),
      checkReboot(ctx, refused, rebooted),
      checkNoDownload([booted, rebooted], SENTINEL),
    ];
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(servicesUsing(ctx, booted, ["KUBE_LOG_LEVEL", "OIDC_ISSUER"])).toEqual(["kube-apiserver", "kubelet"]);
  });

  it("cloud-init: an error, another user script, an extra cloud-config key, a readable or different user-data.env fail", () => {
    let s = healthy(ctx);
    s.cloudInit = { ...s.cloudInit, status: "error", errors: ["x"] };
    failsWith(checkCloudInit(ctx, s), 'status is "error"');
    s = healthy(ctx);
    s.cloudScripts["fetch-artifacts"] = { ...s.cloudScripts["podplane-user-data"]!, content: "curl" };
    failsWith(checkCloudInit(ctx, s), "expected exactly the slim user-data script");
    s = healthy(ctx);
    s.files[GUEST.cloudConfig]!.content = "users: []\npackages: [curl]\n";
    failsWith(checkCloudInit(ctx, s), "cloud-init was asked to do more: packages");
    s = healthy(ctx);
    s.files[GUEST.userDataEnv]!.mode = "0644";
    failsWith(checkCloudInit(ctx, s), "mode 0644, expected 0600");
    s = healthy(ctx);
    failsWith(checkCloudInit({ ...ctx, userDataEnv: ctx.userDataEnv.map(([k, v]) => [k, k === "NSTANCE_CA_CERT" ? `${v}\nmore` : v]) }, s), "differs from the test env in NSTANCE_CA_CERT");
  });

  it("bootstrap: a missing or readable detected.env, a wrong kind, or a foreign mutable key fail", () => {
    let s = healthy(ctx);
    s.files[GUEST.detectedEnv] = null;
    failsWith(checkBootstrap(ctx, s), "detected.env is missing");
    s = healthy(ctx);
    s.files[GUEST.detectedEnv]!.mode = "0644";
    failsWith(checkBootstrap(ctx, s), "expected 0600");
    failsWith(checkBootstrap(context("knd"), healthy(ctx)), "VMCONFIG_KIND=knc on a knd image");
    s = healthy(ctx);
    s.files[GUEST.mutableEnv]!.content += "NOT_MUTABLE='1'\n";
    failsWith(checkBootstrap(ctx, s), "non-mutable variables NOT_MUTABLE");
  });

  it("identity: a missing or readable nonce, another CA, the wrong hostname, no registration wait, nstance-agent as root fail", () => {
    let s = healthy(ctx);
    s.files[GUEST.nonce] = null;
    failsWith(checkIdentity(ctx, s, IDENTITY), "nonce.jwt is missing");
    s = healthy(ctx);
    s.files[GUEST.identityCa]!.mode = "0644";
    failsWith(checkIdentity(ctx, s, IDENTITY), "expected 0600 owned by nstance-agent");
    failsWith(checkIdentity(ctx, healthy(ctx), { ...IDENTITY, caSha256: "other" }), "is not NSTANCE_CA_CERT");
    s = healthy(ctx);
    s.hostname = "podplane-test-knc";
    failsWith(checkIdentity(ctx, s, IDENTITY), "expected the instance ID i-0b00757e57");
    failsWith(checkIdentity(ctx, healthy(ctx), { ...IDENTITY, registrationConnections: 0 }), "never connected to NSTANCE_SERVER_REGISTRATION_ADDR 10.0.2.100:8443");
    s = healthy(ctx);
    s.processes["nstance-agent.service"]!.uid = ["0", "0", "0", "0"];
    failsWith(checkIdentity(ctx, s, IDENTITY), "nstance-agent runs as uid 0");
  });

  it("delivery: a file not arriving, another digest, a wrong mode, a key another service user can read, a key its own user cannot read fail", () => {
    let s = healthy(ctx);
    s.files["/opt/crt/kubelet.server.crt"] = null;
    failsWith(checkDelivery(ctx, s), "recv/kubelet.server.crt did not arrive at /opt/crt/kubelet.server.crt");
    s = healthy(ctx);
    s.files["/opt/crt/ca.crt"]!.sha256 = "tampered";
    failsWith(checkDelivery(ctx, s), "/opt/crt/ca.crt differs from the delivered recv/ca.crt");
    s = healthy(ctx);
    s.files["/opt/key/kubelet/kubelet.client.key"]!.mode = "0644";
    failsWith(checkDelivery(ctx, s), "is 0644 root:kubelet, expected 0640 root:kubelet");
    s = healthy(ctx);
    s.access.zot!["/opt/key/kubelet/kubelet.client.key"] = true;
    failsWith(checkDelivery(ctx, s), "/opt/key/kubelet/kubelet.client.key is readable by zot");
    s = healthy(ctx);
    s.access.kubelet!["/opt/key/kubelet/kubelet.server.key"] = false;
    failsWith(checkDelivery(ctx, s), "not readable by kubelet, which kubelet runs as");
    failsWith(checkDelivery({ ...ctx, delivered: {} }, healthy(ctx)), "no row of deliveries.tsv matches a delivered file");
  });

  it("service env files: a stale value, a missing variable, a wrong owner, a secret readable by another user, a file for a service that does not apply fail", () => {
    let s = healthy(ctx);
    s.files["/opt/env/kubelet.env"]!.content = s.files["/opt/env/kubelet.env"]!.content!.replace(/KUBE_LOG_LEVEL=".*"/, 'KUBE_LOG_LEVEL="9"');
    failsWith(checkServiceEnv(ctx, s), '/opt/env/kubelet.env: KUBE_LOG_LEVEL="9"');
    s = healthy(ctx);
    s.files["/opt/env/kube-apiserver.env"]!.content = "";
    failsWith(checkServiceEnv(ctx, s), "/opt/env/kube-apiserver.env has [], expected [OIDC_ISSUER,KUBE_LOG_LEVEL]");
    s = healthy(ctx);
    s.files["/opt/env/zot.env"]!.group = "podplane";
    failsWith(checkServiceEnv(ctx, s), "/opt/env/zot.env is 0640 root:podplane, expected 0640 root:zot");
    s = healthy(ctx);
    s.access.kubelet!["/opt/env/zot.env"] = true;
    failsWith(checkServiceEnv(ctx, s), "/opt/env/zot.env is readable by kubelet");
    s = healthy(ctx);
    s.files["/opt/env/kube2iam.env"] = { ...s.files["/opt/env/kubelet.env"]! };
    failsWith(checkServiceEnv(ctx, s), "kube2iam does not apply");
  });

  it("services: a script binary run by its interpreter (the Python stand-ins) and a value its run.sh normalised pass; a script wrapper does not", () => {
    let s = healthy(ctx);
    s.processes["kubelet.service"]!.argv = ["/usr/bin/python3", "/usr/local/bin/kubelet", "--config=/opt/kubelet/etc/kubelet.yaml"];
    s.processes["kubelet.service"]!.exe = "/usr/bin/python3.13";
    s.processes["zot.service"]!.environ.REGISTRY_HOSTNAME = "normalised.example";
    expect(checkServices(ctx, s).ok, checkServices(ctx, s).evidence).toBe(true);
    s = healthy(ctx);
    s.processes["kubelet.service"]!.argv = ["/usr/bin/python3", "/opt/podplane/services/kubelet/run.py"];
    s.processes["kubelet.service"]!.exe = "/usr/bin/python3.13";
    failsWith(checkServices(ctx, s), "not the kubelet binary");
  });

  it("services: not running, a wrapper that did not exec, the wrong user, a lost env var, no listener, kube2iam without aws, a knc unit on knd fail", () => {
    let s = healthy(ctx);
    s.units["kube-apiserver.service"]!.ActiveState = "activating";
    failsWith(checkServices(ctx, s), "kube-apiserver is activating/running");
    s = healthy(ctx);
    s.processes["kubelet.service"]!.argv = ["/bin/bash", "/opt/podplane/services/kubelet/run.sh"];
    s.processes["kubelet.service"]!.exe = "/usr/bin/bash";
    failsWith(checkServices(ctx, s), "not the kubelet binary");
    s = healthy(ctx);
    s.processes["zot.service"]!.uid = ["0", "0", "0", "0"];
    failsWith(checkServices(ctx, s), "zot runs as uid 0/0/0/0, expected zot");
    s = healthy(ctx);
    s.units["zot.service"]!.User = "";
    failsWith(checkServices(ctx, s), "zot.service has User=root, expected zot");
    s = healthy(ctx);
    delete s.processes["zot.service"]!.environ.REGISTRY_HOSTNAME;
    failsWith(checkServices(ctx, s), "zot's environment lacks REGISTRY_HOSTNAME");
    s = healthy(ctx);
    s.processes["kube-apiserver.service"]!.cgroupListens = ["tcp 0.0.0.0:8080"];
    failsWith(checkServices(ctx, s), "kube-apiserver does not listen on");
    s = healthy(ctx);
    s.processes["containerd.service"]!.cgroupListens = [];
    failsWith(checkServices(ctx, s), "containerd does not listen");
    s = healthy(ctx);
    delete s.processes["kubelet.service"];
    failsWith(checkServices(ctx, s), "kubelet has no main process");
    s = healthy(ctx);
    s.units["kube2iam.service"]!.ActiveState = "active";
    failsWith(checkServices(ctx, s), "kube2iam is active but needs PROVIDER_KIND=aws");
    failsWith(checkServices(context("knd"), healthy(ctx)), /kube-apiserver \(knc only\) is loaded\/active on a knd image/);
  });

  it("services: passes on real binaries with no stand-in record, and on aws runs kube2iam", () => {
    const aws = context("knd", "aws");
    const s = healthy(aws);
    expect(Object.keys(s.files).some((f) => f.startsWith(GUEST.standinDir))).toBe(false);
    const result = checkServices(aws, s);
    expect(result.ok, result.evidence).toBe(true);
    expect(result.evidence).toMatch(/kube2iam active\/running pid \d+ uid 993 kube2iam/);
  });

  it("node name: a kubelet override other than the instance ID, or the hostname without one, fail", () => {
    let s = healthy(ctx);
    s.processes["kubelet.service"]!.argv = ["/usr/local/bin/kubelet", "--hostname-override", "podplane-test-knc"];
    failsWith(checkNodeName(ctx, s), 'node name is "podplane-test-knc" (from --hostname-override)');
    s = healthy(ctx);
    s.processes["kubelet.service"]!.argv = ["/usr/local/bin/kubelet", "--config=/etc/kubernetes/kubelet.yaml"];
    s.argvFiles["/etc/kubernetes/kubelet.yaml"] = { ...s.files[GUEST.mutableEnv]!, content: "kind: KubeletConfiguration\n" };
    s.hostname = "debian";
    failsWith(checkNodeName(ctx, s), "from the hostname (no override)");
  });

  it("live update: a delivery merges into mutable.env, so a name it does not carry (the seed's NSTANCE_SERVER_*) is not a change", () => {
    const before = new Map([["NSTANCE_SERVER_AGENT_ADDR", "10.0.2.100:8444"], ["KUBE_LOG_LEVEL", "2"]]);
    expect(changedVariables(ctx.spec, before, new Map([["KUBE_LOG_LEVEL", "4"]]))).toEqual(["KUBE_LOG_LEVEL"]);
    expect(changedVariables(ctx.spec, before, new Map([["KUBE_LOG_LEVEL", "2"], ["NSTANCE_SERVER_AGENT_ADDR", "10.0.2.100:9000"]]))).toEqual(["NSTANCE_SERVER_AGENT_ADDR"]);
  });

  it("live update: an extra or a missing restart, an old value left behind, a changed certificate, or a no-op update fail", () => {
    let { text, after } = afterLiveUpdate(ctx, booted);
    after.units["zot.service"]!.InvocationID = "changed";
    failsWith(checkLiveUpdate(ctx, booted, after, text), "restarted [kube-apiserver, kubelet, zot], expected exactly [kube-apiserver, kubelet]");
    ({ text, after } = afterLiveUpdate(ctx, booted));
    after.units["kubelet.service"] = { ...booted.units["kubelet.service"] };
    failsWith(checkLiveUpdate(ctx, booted, after, text), "restarted [kube-apiserver], expected exactly [kube-apiserver, kubelet]");
    ({ text, after } = afterLiveUpdate(ctx, booted));
    after.files["/opt/env/kube-apiserver.env"]!.content = booted.files["/opt/env/kube-apiserver.env"]!.content;
    failsWith(checkLiveUpdate(ctx, booted, after, text), "kube-apiserver.env still has old KUBE_LOG_LEVEL, OIDC_ISSUER");
    ({ text, after } = afterLiveUpdate(ctx, booted));
    after.files["/opt/crt/ca.crt"]!.sha256 = "rewritten";
    failsWith(checkLiveUpdate(ctx, booted, after, text), "certificates or keys changed: /opt/crt/ca.crt");
    failsWith(checkLiveUpdate(ctx, booted, booted, booted.files[GUEST.mutableEnv]!.content!), "changes nothing");
  });

  it("invalid update and hostile delivery: a changed mutable.env, a new or changed runtime file, a restart, the injected command, or no log line fail", () => {
    const before = healthy(ctx);
    for (const judge of [checkInvalidUpdate, checkHostileDelivery]) {
      let s = refusedCopy(before);
      s.files[GUEST.mutableEnv]!.content += "KUBE_LOG_LEVEL='6'\n";
      failsWith(judge(ctx, before, s), "mutable.env changed");
      s = refusedCopy(before);
      s.files["/opt/crt/evil.crt"] = { ...s.files["/opt/crt/ca.crt"]! };
      failsWith(judge(ctx, before, s), "runtime files changed: /opt/crt/evil.crt");
      s = refusedCopy(before);
      s.files["/opt/crt/kubelet.server.crt"]!.sha256 = "shadow";
      failsWith(judge(ctx, before, s), "runtime files changed: /opt/crt/kubelet.server.crt");
      s = refusedCopy(before);
      s.units["kubelet.service"]!.MainPID = "4242";
      failsWith(judge(ctx, before, s), "services restarted: kubelet");
      s = refusedCopy(before);
      s.files[GUEST.injectionMarker] = { ...s.files[GUEST.nonce]! };
      failsWith(judge(ctx, before, s), "the injected command ran");
      failsWith(judge(ctx, before, structuredClone(before)), "no refusal was logged");
    }
    const folded = foldChecks(CHECK_NAMES.hostile, [
      { label: "a", check: { name: "x", ok: true, evidence: "fine" } },
      { label: "b", check: { name: "x", ok: false, evidence: "FAIL: broke" } },
    ]);
    expect(folded).toEqual({ name: CHECK_NAMES.hostile, ok: false, evidence: "a: fine || b: FAIL: broke" });
  });

  it("rotation: exactly the users of the rotated files restart and only those files change, else it fails", () => {
    const before = healthy(ctx);
    const rotated = { "recv/kubelet.server.crt": "kubelet.server.crt-v2", "keys/kubelet.server.key": "kubelet.server.key-v2" };
    const good = (): GuestSnapshot => {
      const s = structuredClone(before);
      s.files["/opt/crt/kubelet.server.crt"]!.sha256 = rotated["recv/kubelet.server.crt"];
      s.files["/opt/key/kubelet/kubelet.server.key"]!.sha256 = rotated["keys/kubelet.server.key"];
      s.units["kubelet.service"]!.MainPID = "5000";
      s.units["kubelet.service"]!.InvocationID = "inv-new";
      return s;
    };
    const ok = checkRotation(ctx, before, good(), rotated);
    expect(ok.ok, ok.evidence).toBe(true);
    let s = good();
    s.units["kube-apiserver.service"]!.InvocationID = "inv-also";
    failsWith(checkRotation(ctx, before, s, rotated), "restarted [kube-apiserver, kubelet], expected exactly [kubelet]");
    s = good();
    s.units["kubelet.service"] = { ...before.units["kubelet.service"] };
    failsWith(checkRotation(ctx, before, s, rotated), "restarted [], expected exactly [kubelet]");
    s = good();
    s.files["/opt/key/kubelet/kubelet.server.key"]!.sha256 = before.files["/opt/key/kubelet/kubelet.server.key"]!.sha256;
    failsWith(checkRotation(ctx, before, s, rotated), "does not hold the rotated kubelet.server.key");
    s = good();
    s.files["/opt/crt/kubelet.client.crt"]!.sha256 = "also";
    failsWith(checkRotation(ctx, before, s, rotated), "other runtime files changed too: /opt/crt/kubelet.client.crt");
  });

  it("reboot: no reboot, a rewritten detected.env, a re-seeded mutable.env, changed keys, configure not run, a service down fail", () => {
    const before = healthy(ctx);
    const rebooted = (): GuestSnapshot => {
      const s = healthy(ctx, { bootId: "boot-2", pidBase: 900 });
      for (const name of Object.keys(s.files)) if (before.files[name]) s.files[name] = structuredClone(before.files[name] ?? null);
      return s;
    };
    expect(checkReboot(ctx, before, rebooted()).ok).toBe(true);
    let s = rebooted();
    s.bootId = before.bootId;
    failsWith(checkReboot(ctx, before, s), "did not reboot");
    s = rebooted();
    s.files[GUEST.detectedEnv]!.mtimeNs = "1";
    failsWith(checkReboot(ctx, before, s), "detected.env changed across the reboot");
    s = rebooted();
    s.files[GUEST.mutableEnv]!.content = "";
    failsWith(checkReboot(ctx, before, s), "bootstrap re-seeded");
    s = rebooted();
    s.files["/opt/key/registry/registry.server.key"]!.sha256 = "regenerated";
    failsWith(checkReboot(ctx, before, s), "runtime files differ after the reboot: /opt/key/registry/registry.server.key");
    s = rebooted();
    s.units["podplane-configure.service"]!.Result = "exit-code";
    failsWith(checkReboot(ctx, before, s), "podplane-configure.service is active/exit-code");
    s = rebooted();
    s.units["zot.service"]!.ActiveState = "failed";
    failsWith(checkReboot(ctx, before, s), "zot is failed/running");
  });

  it("no download: a download attempt at the sentinel (user-data fetching an artifact), no canary, a direct host connection or a dpkg install fail", () => {
    const s = healthy(ctx);
    const downloaded: SentinelRecord = { ...SENTINEL, connections: [...SENTINEL.connections, { port: 443, firstLine: "....github.com" }, { port: 80, firstLine: "GET /debian/pool/main/c/curl.deb HTTP/1.1" }] };
    failsWith(checkNoDownload([s], downloaded), 'a download attempt reached the sentinel on port 80: "GET /debian/pool/main/c/curl.deb HTTP/1.1"');
    failsWith(checkNoDownload([s], downloaded), "on port 443");
    s.canary = "failed: timed out";
    failsWith(checkNoDownload([s], { ...SENTINEL, connections: [] }), "saw no canary request, so it could not have seen a download either (failed: timed out)");
    const direct = healthy(ctx);
    direct.connect = "connected";
    failsWith(checkNoDownload([direct], SENTINEL), "reached the host directly at 10.0.2.2:40000");
    const dpkg = healthy(ctx);
    dpkg.dpkgSinceBoot = ["2026-11-25 08:20:00 install curl:amd64 <none> 8.0"];
    const result = checkNoDownload([dpkg], SENTINEL);
    failsWith(result, "dpkg.log shows installs since boot");
    expect(result.evidence).not.toContain("no install");
  });
});
