// The root --help and --version answered without commander (pipeline/cli/root-help.ts) must be
// exactly what commander prints for the same program, at any terminal width.
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { programFor } from "../../pipeline/cli/main.js";
import { rootHelp, rootRequest, helpWidth, PROGRAM } from "../../pipeline/cli/root-help.js";

const CLI = path.resolve(import.meta.dirname, "../../bin/podplane-images.js");

async function commanderHelp(width: number): Promise<string> {
  const program = await programFor([]); // the root help: every command named by its summary
  program.configureOutput({ getOutHelpWidth: () => width });
  return program.helpInformation();
}

describe("root help without commander", () => {
  it.each([20, 39, 40, 60, 72, 80, 100, 132, 200])("equals commander's help at width %i", async (width) => {
    expect(rootHelp(width)).toBe(await commanderHelp(width));
  });

  it("is what the CLI prints for --help, -h and help (through a pipe: width 80)", async () => {
    const expected = await commanderHelp(80);
    for (const arg of ["--help", "-h", "help"]) {
      const result = await execa(CLI, [arg]);
      expect(`${result.stdout}\n`, arg).toBe(expected);
    }
  });

  it("answers --version and -V with the program's version", async () => {
    for (const arg of ["--version", "-V"]) expect((await execa(CLI, [arg])).stdout).toBe(PROGRAM.version);
  });

  it("takes only a lone root flag: anything more goes to commander", () => {
    expect(rootRequest(["--help"])).toBe("help");
    expect(rootRequest(["-V"])).toBe("version");
    expect(rootRequest(["help", "build"])).toBeUndefined();
    expect(rootRequest(["build", "--help"])).toBeUndefined();
    expect(rootRequest(["--help", "--json"])).toBeUndefined();
    expect(rootRequest([])).toBeUndefined();
  });

  it("uses the terminal's width on a TTY and 80 otherwise, as commander does", () => {
    expect(helpWidth({ isTTY: true, columns: 132 })).toBe(132);
    expect(helpWidth({ isTTY: false, columns: 132 })).toBe(80);
    expect(helpWidth({})).toBe(80);
  });
});
