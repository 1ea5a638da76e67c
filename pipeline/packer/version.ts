// Which Packer is installed, and what its templates need. Debian's 1.6.6 has the qemu and
// amazon-ebs builders built in and knows no `required_plugins`; from 1.10 on the builders are
// plugins that `packer init` installs from a `required_plugins` block.
import { execa } from "execa";
import { WorkError } from "../errors/index.js";

export interface PackerVersion {
  version: string;
  major: number;
  minor: number;
  patch: number;
  /** ≥ 1.10: the template carries `required_plugins` (and IMDSv2 settings) and `packer init` runs first. */
  modern: boolean;
}

export function parsePackerVersion(output: string): PackerVersion {
  const match = /(?:^|\s|v)(\d+)\.(\d+)\.(\d+)(?:[-+][\w.]+)?/m.exec(output.trim());
  if (!match) throw new WorkError("EPACKERVERSION", `cannot read a Packer version from ${JSON.stringify(output.slice(0, 80))}`, { output });
  const [major, minor, patch] = [Number(match[1]), Number(match[2]), Number(match[3])];
  return { version: `${major}.${minor}.${patch}`, major, minor, patch, modern: major > 1 || (major === 1 && minor >= 10) };
}

export async function detectPacker(bin = "packer", env?: NodeJS.ProcessEnv): Promise<PackerVersion> {
  try {
    const { stdout } = await execa(bin, ["version"], { env, timeout: 30_000 });
    return parsePackerVersion(stdout);
  } catch (error) {
    if (error instanceof WorkError) throw error;
    throw new WorkError("ENOPACKER", `cannot run ${bin} version: ${(error as Error).message.split("\n")[0] ?? ""}; install Packer (scripts/setup-host.sh)`, { bin }, { cause: error });
  }
}
