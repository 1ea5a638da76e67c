import { describe, expect, it } from "vitest";
import { describeEvent, escapePacker, meaningfulLine, parseMachineLine } from "../../pipeline/packer/index.js";

describe("machine-readable output", () => {
  it("parses timestamp, target, type and unescaped data", () => {
    const event = parseMachineLine("1732521600,podplane.qemu.podplane,ui,say,==> podplane.qemu.podplane: a%!(PACKER_COMMA) b\\nc");
    expect(event).toEqual({ timestamp: 1732521600, target: "podplane.qemu.podplane", type: "ui", data: ["say", "==> podplane.qemu.podplane: a, b\nc"] });
  });

  it("escapes a console line so that it stays one data field (the bake log's build VM lines)", () => {
    const line = "podplane-install: installed knc: 17 artifacts, 15 units";
    expect(parseMachineLine(`1,podplane.qemu.podplane,ui,message,${escapePacker(line)}`)?.data).toEqual(["message", line]);
  });

  it("turns ui, artifact and error events into progress", () => {
    expect(describeEvent(parseMachineLine("1,,ui,error,Build 'x' errored: boom")!)).toEqual({ kind: "error", text: "Build 'x' errored: boom" });
    expect(describeEvent(parseMachineLine("1,,ui,message,    podplane.qemu.podplane: Setting up libpq5")!)).toEqual({ kind: "message", text: "podplane.qemu.podplane: Setting up libpq5" });
    expect(describeEvent(parseMachineLine("1,podplane.amazon-ebs.podplane,artifact,0,id,us-east-1:ami-1%!(PACKER_COMMA)eu-west-1:ami-2")!)).toEqual({
      kind: "artifact",
      text: "artifact 0: us-east-1:ami-1,eu-west-1:ami-2",
    });
    expect(describeEvent(parseMachineLine("1,podplane.qemu.podplane,artifact-count,1")!)).toBeUndefined();
  });

  it("keeps garbage (a Go panic, plain text) as it is and drops bookkeeping events", () => {
    expect(parseMachineLine("panic: runtime error: invalid memory address")).toBeUndefined();
    expect(parseMachineLine("goroutine 1 [running]:")).toBeUndefined();
    expect(parseMachineLine("")).toBeUndefined();
    expect(meaningfulLine("panic: runtime error")).toBe("panic: runtime error");
    expect(meaningfulLine("1,,version,1.6.6")).toBeUndefined();
    expect(meaningfulLine("1,,ui,say,line one\\n  line two")).toBe("line one | line two");
    expect(meaningfulLine("   ")).toBeUndefined();
  });
});
