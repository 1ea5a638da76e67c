import { describe, expect, it } from "vitest";
import { qemuArgs } from "../../pipeline/boot/qemu.js";
import { sshArgs } from "../../pipeline/boot/ssh.js";

const BASE = { arch: "amd64" as const, overlay: "/w/overlay.qcow2", seedIso: "/w/seed.iso", sshPort: 2222, accel: "tcg" as const };

function after(args: readonly string[], flag: string): string[] {
  return args.flatMap((arg, i) => (arg === flag ? [args[i + 1] ?? ""] : []));
}

describe("qemuArgs", () => {
  it("uses single-threaded TCG, restricted user networking with ssh forwarded on 127.0.0.1 only, the overlay and the seed", () => {
    const args = qemuArgs(BASE);
    expect(after(args, "-accel")).toEqual(["tcg,thread=single"]);
    expect(after(args, "-cpu")).toEqual(["max"]);
    expect(after(args, "-netdev")).toEqual(["user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:2222-:22"]);
    expect(after(args, "-drive")).toEqual(["file=/w/overlay.qcow2,if=virtio,format=qcow2,discard=unmap", "file=/w/seed.iso,if=virtio,format=raw,readonly=on"]);
    expect(after(args, "-serial")).toEqual(["chardev:serial0"]);
    expect(args).not.toContain("-nographic");
  });

  it("adds explicit guest forwards (the benchmark's mirror) and refuses one that would inject netdev options", () => {
    const args = qemuArgs({ ...BASE, guestForwards: ["tcp:10.0.2.100:80-cmd:socat STDIO TCP:127.0.0.1:8080"] });
    expect(after(args, "-netdev")[0]).toBe("user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:2222-:22,guestfwd=tcp:10.0.2.100:80-cmd:socat STDIO TCP:127.0.0.1:8080");
    expect(() => qemuArgs({ ...BASE, guestForwards: ["tcp:10.0.2.100:80-tcp:127.0.0.1:1,restrict=off"] })).toThrow(/comma/);
  });

  it("uses KVM only when asked, and the virt machine with UEFI for arm64", () => {
    expect(after(qemuArgs({ ...BASE, accel: "kvm" }), "-accel")).toEqual(["kvm"]);
    const arm = qemuArgs({ ...BASE, arch: "arm64" });
    expect(after(arm, "-machine")).toEqual(["virt"]);
    expect(after(arm, "-device")).toEqual(["virtio-net-device,netdev=n0"]);
  });
});

describe("ssh", () => {
  it("trusts only the pinned host key (its own known_hosts, strict checking) and only uses the throw-away key", () => {
    const args = sshArgs({ port: 2222, privateKey: "/w/id_ed25519", knownHosts: "/w/known_hosts" });
    expect(args).toEqual(expect.arrayContaining(["StrictHostKeyChecking=yes", "UserKnownHostsFile=/w/known_hosts", "GlobalKnownHostsFile=/dev/null", "HostKeyAlias=podplane-test-vm", "BatchMode=yes", "IdentitiesOnly=yes"]));
    expect(args.join(" ")).not.toMatch(/StrictHostKeyChecking=no|UserKnownHostsFile=\/dev\/null/);
    expect(args.at(-1)).toBe("podplane-test@127.0.0.1");
  });
});
