import type { Command } from "commander";
import { WorkError } from "../errors/index.js";

export function register(program: Command): Command {
  return program
    .command("build")
    .description("Bake an image per kind x arch x target with Packer and publish its ID")
    .action(() => {
      throw new WorkError("ENOTIMPLEMENTED", "build is not built yet");
    });
}
