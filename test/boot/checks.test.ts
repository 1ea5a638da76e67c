// The named checks, evaluated on snapshots captured from a real knc boot (fixtures/knc-boot.json),
// then on copies broken one way at a time: each rule must notice its own kind of breakage.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  checkBootstrap,
  checkCloudInit,
  checkInvalidUpdate,
  checkLiveUpdate,
  checkNoDownload,
  checkReboot,
  checkServiceEnv,
  checkServices,
  foldChecks,
  GUEST,
  servicesUsing,
  type CheckContext,
} from "../../pipeline/boot/checks.js";
import type { GuestSnapshot } from "../../pipeline/boot/probe.js";
import { LIVE_UPDATE } from "../../pipeline/boot/test-env.js";
import { loadVmconfigSpec } from "../../pipeline/boot/vmconfig-spec.js";

interface Fixture {
  kind: "knc";
  userDataEnv: Array<[string, string]>;
  sentinelPort: number;
  snapshots: Record<"booted" | "liveUpdated" | "invalidRefused" | "rebooted", GuestSnapshot>;
}

const fixture = JSON.parse(readFileSync(path.join(import.meta.dirname, "fixtures", "knc-boot.json"), "utf8")) as Fixture;
const spec = loadVmconfigSpec();

function snapshots(): Fixture["snapshots"] {
  return structuredClone(fixture.snapshots);
}

function context(kind: "knd" | "knc" = "knc"): CheckContext {
  const userData = fixture.snapshots.booted.cloudScripts["podplane-user-data"]?.content ?? "";
  return { kind, spec, userDataEnv: fixture.userDataEnv, userData };
}

function setEnvLine(snapshot: GuestSnapshot, file: string, name: string, value: string): void {
  const info = snapshot.files[file];
  if (!info?.content) throw new Error(`no ${file} in the fixture`);
  info.content = info.content.replace(new RegExp(`^${name}=.*$`, "m"), `${name}="${value}"`);
}

describe("checks on a captured knc boot", () => {
  it("all pass on the real snapshots", () => {
    const s = snapshots();
    const ctx = context();
    const results = [
      checkCloudInit(ctx, s.booted),
      checkBootstrap(ctx, s.booted),
      checkServiceEnv(ctx, s.booted),
      checkServices(ctx, s.booted),
      checkLiveUpdate(ctx, s.booted, s.liveUpdated, LIVE_UPDATE),
      checkInvalidUpdate(ctx, s.liveUpdated, s.invalidRefused),
      checkReboot(ctx, s.invalidRefused, s.rebooted),
      checkNoDownload(Object.values(s), { requests: 0, port: fixture.sentinelPort }),
    ];
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(servicesUsing(ctx, s.booted, ["KUBE_LOG_LEVEL", "OIDC_ISSUER"])).toEqual(["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet"]);
  });

  it("cloud-init: an error, another user script, a readable user-data.env or a different value fail", () => {
    const ctx = context();
    let s = snapshots();
    s.booted.cloudInit = { ...s.booted.cloudInit, status: "error", errors: ["x"] };
    expect(checkCloudInit(ctx, s.booted)).toMatchObject({ ok: false, evidence: expect.stringContaining("status is \"error\"") as string });
    s = snapshots();
    s.booted.cloudScripts["fetch-artifacts"] = { mode: "0700", size: 1, mtimeNs: "0", inode: 1, uid: 0, isDir: false, content: "curl" };
    expect(checkCloudInit(ctx, s.booted).evidence).toContain("expected exactly the slim user-data script");
    s = snapshots();
    s.booted.files[GUEST.userDataEnv]!.mode = "0644";
    expect(checkCloudInit(ctx, s.booted).evidence).toContain("mode 0644, expected 0600");
    s = snapshots();
    expect(checkCloudInit({ ...ctx, userDataEnv: [...ctx.userDataEnv, ["CLUSTER_ID", "other"]] }, s.booted).ok).toBe(false);
    s.booted.files[GUEST.cloudConfig]!.content = "users: []\npackages: [curl]\n";
    expect(checkCloudInit(ctx, s.booted).evidence).toContain("cloud-init was asked to do more: packages");
  });

  it("bootstrap: a missing detected.env or an unseeded mutable value fail", () => {
    const ctx = context();
    let s = snapshots();
    s.booted.files[GUEST.detectedEnv] = null;
    expect(checkBootstrap(ctx, s.booted).evidence).toContain("detected.env is missing");
    s = snapshots();
    setEnvLine(s.booted, GUEST.mutableEnv, "REGISTRY_ENABLED", "false");
    expect(checkBootstrap(ctx, s.booted).evidence).toContain("REGISTRY_ENABLED");
  });

  it("service env files: a stale value, a missing variable, a readable secret, a file for a service that does not apply fail", () => {
    const ctx = context();
    let s = snapshots();
    setEnvLine(s.booted, "/opt/env/kubelet.env", "KUBE_LOG_LEVEL", "9");
    expect(checkServiceEnv(ctx, s.booted).evidence).toContain("/opt/env/kubelet.env: KUBE_LOG_LEVEL=\"9\"");
    s = snapshots();
    s.booted.files["/opt/env/kube-scheduler.env"]!.content = "";
    expect(checkServiceEnv(ctx, s.booted).evidence).toContain("/opt/env/kube-scheduler.env is missing");
    s = snapshots();
    s.booted.files["/opt/env/netsy.env"]!.mode = "0644";
    expect(checkServiceEnv(ctx, s.booted).evidence).toContain("holds NETSY_SECRET_ACCESS_KEY but has mode 0644");
    s = snapshots();
    s.booted.files["/opt/env/kube2iam.env"] = { mode: "0600", size: 1, mtimeNs: "0", inode: 9, uid: 0, isDir: false, content: "NODE_IPV4=\"\"\n" };
    expect(checkServiceEnv(ctx, s.booted).evidence).toContain("kube2iam does not apply");
  });

  it("services: one not running, kube2iam running without aws, or a knc unit on a knd image fail", () => {
    let s = snapshots();
    s.booted.units["netsy.service"]!.ActiveState = "activating";
    expect(checkServices(context(), s.booted).evidence).toContain("netsy is activating");
    s = snapshots();
    s.booted.units["kube2iam.service"]!.ActiveState = "active";
    expect(checkServices(context(), s.booted).evidence).toContain("kube2iam is active but needs PROVIDER=aws");
    s = snapshots();
    expect(checkServices(context("knd"), s.booted).evidence).toMatch(/netsy \(knc only\) is loaded\/active on a knd image/);
  });

  it("live update: an extra or a missing restart, or an old value left behind, fail", () => {
    const ctx = context();
    let s = snapshots();
    s.liveUpdated.units["fluent-bit.service"]!.InvocationID = "changed";
    expect(checkLiveUpdate(ctx, s.booted, s.liveUpdated, LIVE_UPDATE).evidence).toContain("restarted [fluent-bit, kube-apiserver");
    s = snapshots();
    s.liveUpdated.units["kube-scheduler.service"] = { ...s.booted.units["kube-scheduler.service"] };
    expect(checkLiveUpdate(ctx, s.booted, s.liveUpdated, LIVE_UPDATE).ok).toBe(false);
    s = snapshots();
    setEnvLine(s.liveUpdated, "/opt/env/kube-apiserver.env", "OIDC_ISSUER", "https://oidc.boot-test.invalid");
    expect(checkLiveUpdate(ctx, s.booted, s.liveUpdated, LIVE_UPDATE).evidence).toContain("kube-apiserver.env still has old OIDC_ISSUER");
  });

  it("invalid update: a changed mutable.env, a restart, the injected command having run, or no log line fail", () => {
    const ctx = context();
    let s = snapshots();
    setEnvLine(s.invalidRefused, GUEST.mutableEnv, "KUBE_LOG_LEVEL", "6");
    expect(checkInvalidUpdate(ctx, s.liveUpdated, s.invalidRefused).evidence).toContain("mutable.env changed");
    s = snapshots();
    s.invalidRefused.files[GUEST.injectionMarker] = { mode: "0644", size: 0, mtimeNs: "0", inode: 3, uid: 0, isDir: false, content: "" };
    expect(checkInvalidUpdate(ctx, s.liveUpdated, s.invalidRefused).evidence).toContain("the injected command ran");
    s = snapshots();
    s.invalidRefused.journal = s.liveUpdated.journal;
    expect(checkInvalidUpdate(ctx, s.liveUpdated, s.invalidRefused).evidence).toContain("no rejection was logged");
    const folded = foldChecks("invalid-update-refused", [
      { label: "a", check: { name: "x", ok: true, evidence: "fine" } },
      { label: "b", check: { name: "x", ok: false, evidence: "FAIL: broke" } },
    ]);
    expect(folded).toEqual({ name: "invalid-update-refused", ok: false, evidence: "a: fine || b: FAIL: broke" });
  });

  it("reboot: no reboot, a rewritten detected.env, a re-seeded mutable.env or configure not run fail", () => {
    const ctx = context();
    let s = snapshots();
    s.rebooted.bootId = s.invalidRefused.bootId;
    expect(checkReboot(ctx, s.invalidRefused, s.rebooted).evidence).toContain("did not reboot");
    s = snapshots();
    s.rebooted.files[GUEST.detectedEnv]!.mtimeNs = String(BigInt(s.rebooted.files[GUEST.detectedEnv]!.mtimeNs) + 1n);
    expect(checkReboot(ctx, s.invalidRefused, s.rebooted).evidence).toContain("detected.env changed across the reboot");
    s = snapshots();
    setEnvLine(s.rebooted, GUEST.mutableEnv, "KUBE_LOG_LEVEL", "2");
    expect(checkReboot(ctx, s.invalidRefused, s.rebooted).evidence).toContain("bootstrap re-seeded");
    s = snapshots();
    s.rebooted.units["podplane-configure.service"]!.ActiveState = "inactive";
    expect(checkReboot(ctx, s.invalidRefused, s.rebooted).ok).toBe(false);
  });

  it("no download: a request to the mirror, a reachable host or a dpkg install fail", () => {
    const s = snapshots();
    expect(checkNoDownload([s.booted], { requests: 2, port: 1 }).evidence).toContain("got 2 requests");
    s.booted.connect = "connected";
    expect(checkNoDownload([s.booted], { requests: 0, port: 1 }).evidence).toContain("reached 10.0.2.2:1");
    s.booted.connect = null;
    s.booted.dpkgSinceBoot = ["2026-11-25 08:20:00 install curl:amd64 <none> 8.0"];
    expect(checkNoDownload([s.booted], { requests: 0, port: 1 }).ok).toBe(false);
  });
});
