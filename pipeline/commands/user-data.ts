import type { Command } from "commander";
import { WorkError } from "../errors/index.js";

export function register(program: Command): Command {
  return program
    .command("user-data")
    .description("Render the slim cloud-init user-data for a kind")
    .action(() => {
      throw new WorkError("ENOTIMPLEMENTED", "user-data is not built yet");
    });
}
