// How the host knows a qemu bake succeeded: the build VM has no communicator, and it powers off
// whether its bake succeeded or not (packer/scripts/build-vm.sh runs from the boot's init,
// pipeline/image/build-vm-boot.ts), so Packer's own success says only that the VM stopped. The bake's last line on the serial console,
// `podplane-bake: [<uptime>] ok`, is the proof; without it the bake fails with the console's last
// lines and nothing is published.
import { open, readFile } from "node:fs/promises";
import { WorkError } from "../errors/index.js";

const BAKE_LINE = /^podplane-bake: \[[\d.]+\] (.*)$/;

/** One console line without the carriage returns a serial console adds around it. */
function consoleLine(raw: string): string {
  return raw.replace(/\r+$/, "").replace(/^\r+/, "");
}

/** The console's lines, each as consoleLine gives it. */
export function consoleLines(text: string): string[] {
  return text.split("\n").map(consoleLine);
}

/** Whether the bake's last word on the console is `ok`, and what it said last otherwise. */
export function bakeOutcome(serial: string): { ok: boolean; last?: string } {
  const said = consoleLines(serial)
    .map((line) => BAKE_LINE.exec(line)?.[1])
    .filter((text): text is string => text !== undefined);
  const last = said.at(-1);
  return last === "ok" ? { ok: true } : last === undefined ? { ok: false } : { ok: false, last };
}

/** Throws EBAKE naming the console log and its last lines unless the bake said `ok` last. */
export async function requireBakeSuccess(serialLog: string, tailLines = 20): Promise<void> {
  const serial = await readFile(serialLog, "utf8").catch(() => "");
  const outcome = bakeOutcome(serial);
  if (outcome.ok) return;
  const tail = consoleLines(serial)
    .filter((line) => line.trim() !== "")
    .slice(-tailLines);
  const why = outcome.last ? `its last word was "${outcome.last}"` : serial ? "the bake never reported" : "the console log is empty";
  throw new WorkError("EBAKE", `the build VM powered off without finishing the bake (${why}); console log ${serialLog}, last lines:\n${tail.map((l) => `  ${l}`).join("\n")}`, {
    serialLog,
    tail,
  });
}

/**
 * Calls `onLine` with each complete line QEMU appends to the console log while the VM runs (a
 * poll: QEMU writes the file itself). `stop()` reads what is left and ends the loop.
 */
export function followConsole(file: string, onLine: (line: string) => void, intervalMs = 500): { stop(): Promise<void> } {
  let offset = 0;
  let partial = "";
  let stopped = false;
  const readNew = async (): Promise<void> => {
    const handle = await open(file, "r").catch(() => undefined);
    if (!handle) return;
    try {
      const { size } = await handle.stat();
      if (size < offset) offset = 0; // truncated: QEMU started afresh
      if (size === offset) return;
      const buffer = Buffer.alloc(size - offset);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
      offset += bytesRead;
      const parts = (partial + buffer.subarray(0, bytesRead).toString("utf8")).split("\n");
      partial = parts.pop() ?? "";
      for (const line of parts) onLine(consoleLine(line));
    } finally {
      await handle.close();
    }
  };
  let running = Promise.resolve();
  const timer = setInterval(() => {
    running = running.then(readNew).catch(() => undefined);
  }, intervalMs);
  return {
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      await running;
      await readNew().catch(() => undefined);
      if (partial) onLine(consoleLine(partial));
      partial = "";
    },
  };
}
