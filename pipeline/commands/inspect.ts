import type { Command } from "commander";
import { WorkError } from "../errors/index.js";

export function register(program: Command): Command {
  return program
    .command("inspect")
    .description("List what a qcow2 image holds, without booting it")
    .action(() => {
      throw new WorkError("ENOTIMPLEMENTED", "inspect is not built yet");
    });
}
