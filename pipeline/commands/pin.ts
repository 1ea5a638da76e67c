import type { Command } from "commander";
import { WorkError } from "../errors/index.js";

export function register(program: Command): Command {
  return program
    .command("pin")
    .description("Pin NAME@VERSION: download, cross-check upstream's checksum, write digest and size into the manifests")
    .action(() => {
      throw new WorkError("ENOTIMPLEMENTED", "pin is not built yet");
    });
}
