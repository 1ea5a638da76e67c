// Public API of the boot test. PLACEHOLDER signature, fixed so `build` can call it.
import type { Kind } from "../manifest/schema.js";
import { WorkError } from "../errors/index.js";

export interface ImageCheck {
  name: string;
  ok: boolean;
  evidence: string;
}

export interface ImageTestReport {
  image: string;
  kind: Kind;
  ok: boolean;
  checks: ImageCheck[];
  logPath: string;
  seconds: number;
}

export function testImage(_options: { image: string; kind: Kind; workDir?: string; signal?: AbortSignal }): Promise<ImageTestReport> {
  return Promise.reject(new WorkError("ENOTIMPLEMENTED", "test-image is not built yet"));
}
