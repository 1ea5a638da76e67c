// Runs Packer (init, validate, build -machine-readable) with the full output in a log file,
// progress from the machine-readable events, and on failure the last meaningful lines.
import { runLogged } from "../image/run-logged.js";
import { describeEvent, meaningfulLine, parseMachineLine, type Progress } from "./machine-readable.js";
import { TEMPLATE_FILE_NAME } from "./template.js";
import { VAR_FILE_NAME, sourceName, type Target } from "./vars.js";

export interface PackerRunOptions {
  packerBin?: string;
  /** Directory holding the rendered template and var file. */
  dir: string;
  logPath: string;
  signal?: AbortSignal | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  onProgress?: ((progress: Progress) => void) | undefined;
}

function run(args: string[], options: PackerRunOptions): Promise<void> {
  return runLogged(options.packerBin ?? "packer", args, {
    logPath: options.logPath,
    code: "EPACKER",
    cwd: options.dir,
    env: { ...process.env, ...options.env, CHECKPOINT_DISABLE: "1", PACKER_NO_COLOR: "1" },
    signal: options.signal,
    describe: meaningfulLine,
    tailLines: 12,
    // Packer stops the VM and removes its partial output on SIGINT; give it time to. Like a
    // terminal's Ctrl-C, the SIGINT goes to Packer's whole process group: the top-level `packer`
    // does not pass it on to its builder process while that waits for SSH (seen with Debian's
    // 1.6.6: a SIGINT to it alone left the build VM running), and whatever of the group outlives
    // Packer (its QEMU) is killed when Packer exits.
    processGroup: true,
    killSignal: "SIGINT",
    forceKillAfterMs: 90_000,
    onLine: (line) => {
      const event = parseMachineLine(line);
      const progress = event ? describeEvent(event) : undefined;
      if (progress) options.onProgress?.(progress);
    },
  });
}

export function packerInit(options: PackerRunOptions): Promise<void> {
  return run(["init", TEMPLATE_FILE_NAME], options);
}

export function packerValidate(target: Target, options: PackerRunOptions): Promise<void> {
  return run(["validate", `-only=${sourceName(target)}`, `-var-file=${VAR_FILE_NAME}`, TEMPLATE_FILE_NAME], options);
}

export function packerBuild(target: Target, options: PackerRunOptions): Promise<void> {
  return run(["build", "-machine-readable", "-color=false", `-only=${sourceName(target)}`, `-var-file=${VAR_FILE_NAME}`, TEMPLATE_FILE_NAME], options);
}
