import type { Command } from "commander";
import { WorkError } from "../errors/index.js";

export function register(program: Command): Command {
  return program
    .command("verify")
    .description("Re-check every cached artifact named by the manifests")
    .action(() => {
      throw new WorkError("ENOTIMPLEMENTED", "verify is not built yet");
    });
}
