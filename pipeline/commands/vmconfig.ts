import type { Command } from "commander";
import { WorkError } from "../errors/index.js";

export function register(program: Command): Command {
  return program
    .command("vmconfig")
    .description("Pack the vmconfig archive deterministically")
    .action(() => {
      throw new WorkError("ENOTIMPLEMENTED", "vmconfig is not built yet");
    });
}
