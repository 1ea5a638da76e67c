// Podplane-format inputs (user-data.env, mutable.env), the delivery script, the host listeners
// and the sentinel names in the seed: the pieces of a boot test that need no VM.
import { execFileSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { GUEST } from "../../pipeline/boot/checks.js";
import { deliveryScript, hostileCases } from "../../pipeline/boot/deliver.js";
import { formatEnvFile, parseEnvFile } from "../../pipeline/boot/envfile.js";
import { guestForward, startCountingListener, startSentinel } from "../../pipeline/boot/listeners.js";
import { testAccessCloudConfig } from "../../pipeline/boot/seed.js";
import {
  formatUserDataEnv,
  invalidUpdates,
  liveUpdate,
  MUTABLE_ENV_KEYS,
  parseUserDataEnv,
  readUserDataEnvFile,
  testMutableEnv,
  testUserDataEnv,
  USER_DATA_ENV_NAMES,
} from "../../pipeline/boot/test-env.js";
import { tempDir } from "../helpers/temp-dir.js";

const PEM = "-----BEGIN CERTIFICATE-----\nMIIB'quote\n-----END CERTIFICATE-----";

describe("user-data.env in Podplane's format", () => {
  it("round-trips multi-line values and quotes, in user-data.sh's groups", () => {
    const env = testUserDataEnv("knd", "aws", PEM);
    const text = formatUserDataEnv(env);
    expect(text).toMatch(/^IMMUTABLE_SSH_AUTHORIZED_KEYS='ssh-ed25519 [^\n]*\nssh-ed25519 [^\n]*'\n\nINSTANCE_ID='i-0b00757e57'\nCLUSTER_ID='boot-test'\n\nPROVIDER_KIND='aws'\n/);
    expect(text).toContain("NSTANCE_CA_CERT='-----BEGIN CERTIFICATE-----\nMIIB'\\''quote\n-----END CERTIFICATE-----'\n");
    expect(parseUserDataEnv(text, "x")).toEqual(env);
    expect(env.map(([n]) => n)).toEqual(USER_DATA_ENV_NAMES);
    // The shell reads it the same way (it is never executed by the test, only compared).
    const shell = execFileSync("bash", ["-c", 'set -a; eval "$(cat)"; printf %s "$NSTANCE_CA_CERT"'], { input: text }).toString();
    expect(shell).toBe(PEM);
  });

  it("refuses what Podplane refuses, naming the file and the variable", async () => {
    const good = formatUserDataEnv(testUserDataEnv("knc", "local", PEM));
    expect(() => parseUserDataEnv(good.replace("PROVIDER_KIND='local'", "PROVIDER_KIND='qemu'"), "f.env")).toThrow(/f.env: PROVIDER_KIND=qemu is not one of local, aws, google, proxmox/);
    expect(() => parseUserDataEnv(good.replace("AWS_ACCOUNT_ID=''", "AWS_ACCOUNT_ID=''").replace("PROVIDER_KIND='local'", "PROVIDER_KIND='aws'"), "f.env")).toThrow(/aws needs AWS_ACCOUNT_ID/);
    expect(() => parseUserDataEnv(`${good}PODPLANE_KIND='knc'\n`, "f.env")).toThrow(/PODPLANE_KIND is not a Podplane user-data.env variable/);
    expect(() => parseUserDataEnv(good.replace("CLUSTER_ID='boot-test'", "CLUSTER_ID=$(reboot)"), "f.env")).toThrow(/cannot read "CLUSTER_ID=\$\(reboot\)"/);
    expect(() => parseUserDataEnv(good.replace("CLUSTER_ID='boot-test'", "CLUSTER_ID='a\nb'"), "f.env")).toThrow(/CLUSTER_ID is a single-line field/);
    expect(() => parseUserDataEnv(good.replace(/NSTANCE_SERVER_AGENT_ADDR='[^']*'/, "NSTANCE_SERVER_AGENT_ADDR='nstance'"), "f.env")).toThrow(/must be host:port/);
    const dir = await tempDir("pp-ude-");
    await expect(readUserDataEnvFile(path.join(dir, "missing.env"))).rejects.toThrow(/cannot read --user-data-env/);
    await writeFile(path.join(dir, "ok.env"), good);
    await expect(readUserDataEnvFile(path.join(dir, "ok.env"))).resolves.toHaveLength(12);
  });
});

describe("mutable.env as the Podplane CLI renders it", () => {
  it("has every key in the CLI's order, single-quoted, defaults applied", () => {
    const text = formatEnvFile(testMutableEnv("knd", "c1"));
    const parsed = parseEnvFile(text);
    expect(parsed.names).toEqual(MUTABLE_ENV_KEYS);
    expect(MUTABLE_ENV_KEYS).toHaveLength(39);
    expect(text.split("\n").filter(Boolean).every((line) => /^[A-Z0-9_]+='[^'\n]*'$/.test(line))).toBe(true);
    expect(parsed.values.get("KUBE_CLUSTER_DNS")).toBe("198.19.255.254,fdc6::ffff");
    expect(parsed.values.get("NETSY_BUCKET")).toBe("c1-netsy");
    expect(parsed.values.get("TELEMETRY_OTLP_ENDPOINT")).toBe("");
  });

  it("live update changes two values; each invalid update also carries a valid change and is Podplane-shaped otherwise", () => {
    const base = testMutableEnv("knc");
    const live = parseEnvFile(liveUpdate(base)).values;
    expect(live.get("KUBE_LOG_LEVEL")).toBe("4");
    const updates = invalidUpdates(base, GUEST.injectionMarker);
    expect(updates.map((u) => u.label)).toEqual(["unknown key", "command substitution", "non-numeric log level", "registry without hostname"]);
    expect(updates[1]?.content).toContain(`OIDC_ISSUER=$(touch ${GUEST.injectionMarker})`);
    expect(parseEnvFile(updates[0]?.content ?? "").values.get("KUBE_LOG_LEVEL")).toBe("6");
  });
});

describe("the delivery script", () => {
  const file = (from: "recv" | "keys", name: string, content: string) => ({ from, name, content: Buffer.from(content) });

  it("is valid bash, writes keys before certificates as nstance-agent, then write-files.last, never interpolating content", () => {
    const script = deliveryScript({ files: [file("recv", "kubelet.server.crt", "$(touch /x)"), file("keys", "kubelet.server.key", "k")] });
    expect(() => execFileSync("bash", ["-n"], { input: script })).not.toThrow();
    expect(script).not.toContain("$(touch /x)");
    expect(script.indexOf("keys/kubelet.server.key")).toBeLessThan(script.indexOf("recv/kubelet.server.crt"));
    expect(script.indexOf("recv/kubelet.server.crt")).toBeLessThan(script.indexOf("write-files.last"));
    expect(script).toContain("install -m 0600 -o nstance-agent -g nstance-agent");
    expect(script).toContain("systemctl list-jobs");
    expect(() => deliveryScript({ files: [file("recv", "../etc/passwd", "x")] })).toThrow(/not a flat file name/);
  });

  it("has a valid, self-undoing script for each hostile case", () => {
    const cases = hostileCases({ target: "kubelet.server.crt", pem: PEM, validChange: "KUBE_LOG_LEVEL='7'\n", previousMutable: "KUBE_LOG_LEVEL='4'\n" });
    expect(cases.map((c) => c.label)).toEqual(["unknown name", "'..' in a name", "'/' in a name (nested file)", "symlink", "non-PEM certificate", "oversized certificate"]);
    for (const item of cases) {
      const script = deliveryScript(item.step);
      expect(() => execFileSync("bash", ["-n"], { input: script })).not.toThrow();
      // The accepted mutable.env is put back after the watcher ran.
      expect(script.lastIndexOf(Buffer.from("KUBE_LOG_LEVEL='4'\n").toString("base64"))).toBeGreaterThan(script.indexOf("write-files.last"));
    }
    expect(deliveryScript(cases[3]!.step)).toContain(`ln -s /etc/shadow ${GUEST.recvDir}/kubelet.server.crt`);
  });
});

function connect(port: number, send = ""): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.write(send));
    let got = "";
    socket.on("data", (d) => (got += d.toString()));
    socket.on("close", () => resolve(got));
    socket.on("error", reject);
    if (!send) setTimeout(() => socket.end(), 50);
  });
}

describe("host listeners", () => {
  it("counts connections to an Nstance address", async () => {
    const listener = await startCountingListener();
    await connect(listener.port);
    await connect(listener.port);
    expect(listener.connections()).toBe(2);
    await listener.close();
  });

  it("the sentinel records each connection's first line per guest port and answers the canary only", async () => {
    const sentinel = await startSentinel([80, 443], "/canary");
    expect(await connect(sentinel.ports.get(80) ?? 0, "GET /canary HTTP/1.1\r\nHost: deb.debian.org\r\n\r\n")).toMatch(/^HTTP\/1.1 204/);
    expect(await connect(sentinel.ports.get(80) ?? 0, "GET /debian/pool/x.deb HTTP/1.1\r\n\r\n")).toMatch(/^HTTP\/1.1 404/);
    await connect(sentinel.ports.get(443) ?? 0, "\x16\x03\x01 github.com\r\n");
    expect(sentinel.connections()).toEqual([
      { port: 80, firstLine: "GET /canary HTTP/1.1" },
      { port: 80, firstLine: "GET /debian/pool/x.deb HTTP/1.1" },
      { port: 443, firstLine: "... github.com" },
    ]);
    await sentinel.close();
    expect(guestForward("10.0.2.101", 80, 4000)).toBe("tcp:10.0.2.101:80-cmd:socat STDIO TCP:127.0.0.1:4000");
  });

  it("the seed's test part points the download hosts at the sentinel, idempotently, every boot", () => {
    const config = testAccessCloudConfig("ssh-ed25519 AAAA k", undefined, { address: "10.0.2.101", hosts: ["deb.debian.org", "github.com"] });
    expect(config).toContain(`bootcmd:\n  - [sh, -c, "for f in /etc/hosts /etc/cloud/templates/hosts.debian.tmpl; do if [ -f $f ] && ! grep -q podplane-test-sentinel $f; then echo '10.0.2.101 deb.debian.org github.com # podplane-test-sentinel' >>$f; fi; done"]`);
    // Valid YAML, and the command is one sh -c string.
    const parsed = parseYaml(config) as { bootcmd: string[][] };
    expect(parsed.bootcmd[0]?.slice(0, 2)).toEqual(["sh", "-c"]);
    expect(() => testAccessCloudConfig("k", undefined, { address: "10.0.2.101; rm", hosts: ["deb.debian.org"] })).toThrow(/plain/);
    expect(() => testAccessCloudConfig("k", undefined, { address: "10.0.2.101", hosts: ["x'y"] })).toThrow(/plain/);
  });
});
