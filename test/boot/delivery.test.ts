// The generated Nstance delivery: real openssl, certificates with Podplane's subjects and SANs
// signed by the throw-away CA, keys where nstance-agent would put them, the CLI's mutable.env;
// and a given --delivery DIR read strictly.
import { execFile } from "node:child_process";
import { mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { certificateSpecs, generateDelivery, issueCertificate, readDeliveryDir, type DeliveryIdentity } from "../../pipeline/boot/delivery.js";
import { parseEnvFile } from "../../pipeline/boot/envfile.js";
import { MUTABLE_ENV_KEYS, testMutableEnv } from "../../pipeline/boot/test-env.js";
import { tempDir } from "../helpers/temp-dir.js";

const run = promisify(execFile);
const IDENTITY: DeliveryIdentity = { kind: "knc", instanceId: "i-0abc", clusterId: "c1", ipv4: "10.0.2.15", apiHostname: "api.c1.invalid" };

async function x509(file: string): Promise<string> {
  return (await run("openssl", ["x509", "-in", file, "-noout", "-subject", "-ext", "subjectAltName,extendedKeyUsage,basicConstraints", "-nameopt", "compat"])).stdout;
}

describe("generateDelivery", () => {
  it("issues each certificate of the kind with Podplane's CN/O/SANs, signed by the CA, its key in keys/", async () => {
    const dir = await tempDir("pp-delivery-");
    const delivery = await generateDelivery({ dir: path.join(dir, "d"), caDir: path.join(dir, "ca"), identity: IDENTITY, mutableEnv: testMutableEnv("knc", "c1") });
    const files = await readDeliveryDir(delivery.dir);
    const names = files.map((f) => `${f.from}/${f.name}`);
    for (const spec of certificateSpecs(IDENTITY)) expect(names).toEqual(expect.arrayContaining([`recv/${spec.name}.crt`, `keys/${spec.name}.key`]));
    expect(names).toEqual(expect.arrayContaining(["recv/ca.crt", "recv/mutable.env", "recv/service-accounts.key", "recv/service-accounts.pub"]));
    const crt = (name: string): string => path.join(delivery.dir, "recv", `${name}.crt`);
    const kubelet = await x509(crt("kubelet.client"));
    expect(kubelet).toContain("subject=/O=system:nodes/CN=system:node:i-0abc");
    expect(kubelet).toContain("TLS Web Client Authentication");
    expect(kubelet).toMatch(/DNS:i-0abc, DNS:localhost, IP Address:10.0.2.15, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1/);
    expect(await x509(crt("kube-apiserver.server"))).toMatch(/DNS:kube-apiserver.podplane.internal, DNS:api.c1.invalid.*IP Address:198.18.0.1/s);
    expect(await x509(crt("kube-apiserver.client"))).toMatch(/O=system:masters\/CN=kube-apiserver.client[\s\S]*URI:netsy:\/\/c1\/client\/kube-apiserver/);
    expect(await x509(crt("netsy.server"))).toContain("URI:netsy://c1/peer/i-0abc");
    expect(await x509(crt("kube-controller-manager.client"))).toContain("CN=system:kube-controller-manager");
    for (const spec of certificateSpecs(IDENTITY)) {
      await expect(run("openssl", ["verify", "-CAfile", path.join(delivery.dir, "recv", "ca.crt"), crt(spec.name)])).resolves.toBeTruthy();
      // The key matches the certificate.
      const pub = (await run("openssl", ["x509", "-in", crt(spec.name), "-noout", "-pubkey"])).stdout;
      const fromKey = (await run("openssl", ["pkey", "-in", path.join(delivery.dir, "keys", `${spec.name}.key`), "-pubout"])).stdout;
      expect(fromKey).toBe(pub);
    }
    const mutable = parseEnvFile(await readFile(path.join(delivery.dir, "recv", "mutable.env"), "utf8"));
    expect(mutable.names).toEqual(MUTABLE_ENV_KEYS);
    expect(mutable.invalid).toEqual([]);
    expect(delivery.caPem).toBe(await readFile(path.join(delivery.dir, "recv", "ca.crt"), "utf8"));
    expect(names).not.toContain("recv/ca.key");
  });

  it("gives knd only its own certificates and no service-account key", () => {
    const specs = certificateSpecs({ ...IDENTITY, kind: "knd" }).map((c) => c.name);
    expect(specs.sort()).toEqual(["containerd.client", "kube2iam.client", "kubelet.client", "kubelet.server", "registry.server"]);
  });

  it("re-issues one certificate with the same CA (a rotation)", async () => {
    const dir = await tempDir("pp-rotate-");
    await generateDelivery({ dir: path.join(dir, "d"), caDir: path.join(dir, "ca"), identity: { ...IDENTITY, kind: "knd" }, mutableEnv: testMutableEnv("knd") });
    const spec = certificateSpecs(IDENTITY).find((c) => c.name === "kubelet.server")!;
    await issueCertificate(path.join(dir, "ca"), path.join(dir, "r"), spec, IDENTITY);
    const before = await readFile(path.join(dir, "d", "recv", "kubelet.server.crt"), "utf8");
    const after = await readFile(path.join(dir, "r", "recv", "kubelet.server.crt"), "utf8");
    expect(after).not.toBe(before);
    await expect(run("openssl", ["verify", "-CAfile", path.join(dir, "d", "recv", "ca.crt"), path.join(dir, "r", "recv", "kubelet.server.crt")])).resolves.toBeTruthy();
  });
});

describe("readDeliveryDir", () => {
  it("names what is wrong with a given delivery", async () => {
    const dir = await tempDir("pp-given-");
    await expect(readDeliveryDir(dir)).rejects.toThrow(/cannot read recv\//);
    await mkdir(path.join(dir, "recv"));
    await mkdir(path.join(dir, "keys"));
    await expect(readDeliveryDir(dir)).rejects.toThrow(/empty/);
    await writeFile(path.join(dir, "keys", "kubelet.server.key"), "k");
    await expect(readDeliveryDir(dir)).rejects.toThrow(/keys\/kubelet.server.key has no recv\/kubelet.server.crt/);
    await writeFile(path.join(dir, "recv", "kubelet.server.crt"), "c");
    await expect(readDeliveryDir(dir)).resolves.toHaveLength(2);
    await symlink("/etc/passwd", path.join(dir, "recv", "ca.crt"));
    await expect(readDeliveryDir(dir)).rejects.toThrow(/recv\/ca.crt is not a regular file/);
  });
});
