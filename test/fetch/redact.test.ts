import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { describeSource, redactDeep, redactUrls, resolveSource } from "../../pipeline/fetch/index.js";
import { runLogged } from "../../pipeline/image/run-logged.js";
import { tempDir } from "../helpers/temp-dir.js";

describe("redactUrls", () => {
  it("hides the userinfo of every URL in a text, and nothing else", () => {
    expect(redactUrls("GET http://user:pa%40ss@mirror.example:8080/debian and https://tok@h/x")).toBe("GET http://***@mirror.example:8080/debian and https://***@h/x");
    expect(redactUrls("mail admin@example.org at http://h/p?x=a@b")).toBe("mail admin@example.org at http://h/p?x=a@b");
    expect(redactDeep({ mirror: "http://u:p@h/", list: ["https://k@h/a"], n: 1 })).toEqual({ mirror: "http://***@h/", list: ["https://***@h/a"], n: 1 });
  });

  it("is applied wherever a mirror source is shown", () => {
    expect(describeSource(resolveSource("https://dl.k8s.io/release/v1/kubelet", "http://u:secret@127.0.0.1:9/m"))).toBe("http://***@127.0.0.1:9/m/dl.k8s.io/release/v1/kubelet");
  });

  it("keeps credentials out of a command's log file and error tail", async () => {
    const dir = await tempDir("redact-log-");
    const logPath = path.join(dir, "log");
    const error = await runLogged("bash", ["-c", 'echo "fetching $1"; exit 3', "bash", "http://u:secret@mirror/debian"], { logPath, code: "EBASE" }).catch((e: unknown) => e as Error);
    const log = await readFile(logPath, "utf8");
    expect(log).toContain("fetching http://***@mirror/debian");
    expect(log).not.toContain("secret");
    expect(String(error)).not.toContain("secret");
  });
});
