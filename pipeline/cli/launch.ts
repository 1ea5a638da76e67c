// What bin/podplane-images.js runs: the root help and version are answered here, before
// commander and any command module are loaded (issue 11: `--help` within a few milliseconds of
// Node's own start); everything else goes to main.ts.
import { helpWidth, PROGRAM, rootHelp, rootRequest } from "./root-help.js";

export async function launch(argv: readonly string[]): Promise<number> {
  const request = rootRequest(argv.slice(2));
  if (request === "help") {
    process.stdout.write(rootHelp(helpWidth()));
    return 0;
  }
  if (request === "version") {
    process.stdout.write(`${PROGRAM.version}\n`);
    return 0;
  }
  const { main } = await import("./main.js");
  return main(argv);
}
