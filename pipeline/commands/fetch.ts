import type { Command } from "commander";
import { WorkError } from "../errors/index.js";

export function register(program: Command): Command {
  return program
    .command("fetch")
    .description("Download every artifact the selected kinds/arches need into the verified cache")
    .action(() => {
      throw new WorkError("ENOTIMPLEMENTED", "fetch is not built yet");
    });
}
