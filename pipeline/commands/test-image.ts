import type { Command } from "commander";
import { WorkError } from "../errors/index.js";

export function register(program: Command): Command {
  return program
    .command("test-image")
    .description("Boot an image with the slim user-data and check it comes up configured")
    .action(() => {
      throw new WorkError("ENOTIMPLEMENTED", "test-image is not built yet");
    });
}
