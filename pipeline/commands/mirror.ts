import type { Command } from "commander";
import { WorkError } from "../errors/index.js";

export function register(program: Command): Command {
  return program
    .command("mirror")
    .description("Export the cache as a mirror tree, or serve a mirror tree over HTTP")
    .action(() => {
      throw new WorkError("ENOTIMPLEMENTED", "mirror is not built yet");
    });
}
