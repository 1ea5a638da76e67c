// Every podplane-images command the workflows run exists in the CLI with the flags it is given.
import { describe, expect, it } from "vitest";
import { buildProgram } from "../../pipeline/cli/main.js";
import { argvProblems } from "./cli-program.js";
import { invocationsIn, readWorkflow, simpleCommands, workflowFiles, cliArgv } from "./workflow-files.js";

const workflows = workflowFiles().map(readWorkflow);
const found = workflows.map((wf) => ({ wf, ...invocationsIn(wf) }));
const invocations = found.flatMap((f) => f.invocations);

describe("podplane-images in the workflows", () => {
  it("every mention of the CLI in a run: script is an invocation the test reads", () => {
    for (const f of found) expect(f.invocations.length, f.wf.file).toBe(f.mentions);
    // What the nightly and release workflows must run (issue 11): plan, build, images merge, prune.
    const commands = new Set(invocations.map((i) => i.argv.filter((w) => !w.startsWith("-")).slice(0, i.argv[0] === "images" ? 2 : 1).join(" ")));
    for (const command of ["plan", "build", "images merge", "prune"]) expect(commands, command).toContain(command);
  });

  it.each(invocations.map((i) => [`${i.workflow} ${i.job} / ${i.step}: podplane-images ${i.argv.join(" ")}`, i] as const))("%s", async (_, invocation) => {
    const { problems } = argvProblems(await buildProgram(), invocation.argv);
    expect(problems).toEqual([]);
  });
});

describe("the invocation reader and checker", () => {
  it("reads commands out of substitutions, continuations, quotes, pipes and redirections", () => {
    const script = [
      'matrix=$(podplane-images plan --kind "$KINDS" --format github)',
      'echo "n=$(podplane-images plan --format json | jq length)" >> "$GITHUB_OUTPUT"',
      "podplane-images images merge a.json \\",
      '  "b c.json" --out out 2>&1 | tee log # podplane-images in a comment',
      "ln -s bin/podplane-images.js /tmp/podplane-images && X=1 podplane-images prune --keep ${{ inputs.keep || '5' }} > /dev/null",
    ].join("\n");
    const argvs = simpleCommands(script).map(cliArgv).filter((a) => a !== undefined);
    expect(argvs).toEqual([
      ["plan", "--kind", "$KINDS", "--format", "github"],
      ["plan", "--format", "json"],
      ["images", "merge", "a.json", "b c.json", "--out", "out"],
      ["prune", "--keep", "${{ inputs.keep || '5' }}"],
    ]);
  });

  it("refuses an unknown command, an unknown flag, a missing value, a bad choice and a missing required option", async () => {
    const program = await buildProgram();
    expect(argvProblems(program, ["bake"]).problems).toEqual([expect.stringMatching(/^bake: no such command/)]);
    expect(argvProblems(program, ["vmconfig", "unpack"]).problems).toEqual([expect.stringMatching(/^vmconfig unpack: no such command/)]);
    expect(argvProblems(program, ["vmconfig", "pack", "--out", "x", "--outt"]).problems).toEqual(["vmconfig pack: unknown option --outt"]);
    expect(argvProblems(program, ["vmconfig", "pack", "--out"]).problems).toEqual(["vmconfig pack: --out needs a value"]);
    expect(argvProblems(program, ["vmconfig", "pack", "--out", "x", "extra"]).problems).toEqual(["vmconfig pack: takes at most 0 argument(s), found 1"]);
    expect(argvProblems(program, ["build", "--kind", "knc", "--arch", "amd64", "--target", "gcp"]).problems).toEqual([expect.stringMatching(/^build: --target gcp: .*"gcp"/)]);
    expect(argvProblems(program, ["build", "--kind", "knc", "--arch", "amd64", "--target", "${{ matrix.target }}"]).problems).toEqual([]);
    expect(argvProblems(program, ["mirror", "serve"]).problems).toEqual(["mirror serve: needs at least 1 argument(s), found 0"]);
    expect(argvProblems(program, ["vmconfig", "pack", "--out", "x", "--json", "--help"]).problems).toEqual([]);
  });
});
