import { Listr, type ListrTask } from "listr2";
import { describe, expect, it } from "vitest";
import { TrackedTasks, usePlainProgress } from "../../pipeline/progress/index.js";

function silent(tasks: ListrTask[], concurrent: number) {
  return new Listr(tasks, { renderer: "silent", concurrent, exitOnError: false, registerSignalListeners: false, collectErrors: "minimal" });
}

describe("progress", () => {
  it("tracked tasks end when their owner settles them, with the owner's titles", async () => {
    const board = new TrackedTasks([
      { key: "a", title: "a" },
      { key: "b", title: "b" },
      { key: "c", title: "c" },
    ]);
    const tasks = board.tasks();
    const list = silent(tasks, 3);
    const done = list.run();
    board.setOutput("a", "10 MiB / 20 MiB");
    board.finish("a", "a: downloaded");
    board.fail("b", new Error("EINTEGRITY: b"));
    board.failRemaining(new Error("EABORTED"));
    board.finish("c", "too late"); // a settled task stays settled
    await done;
    expect(list.tasks.map((t) => [t.title, t.hasFailed()])).toEqual([
      ["a: downloaded", false],
      ["b", true],
      ["c", true],
    ]);
    expect(list.errors.map((e) => e.message)).toEqual(["EINTEGRITY: b", "EABORTED"]);
  });

  it("uses plain lines under CI or when forced", () => {
    expect(usePlainProgress({ env: { CI: "1" } })).toBe(true);
    expect(usePlainProgress({ plain: true, env: {} })).toBe(true);
  });
});
