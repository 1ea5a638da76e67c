// The slow suite: real Packer, real QEMU (TCG here), a Debian base built from the archive.
import path from "node:path";
import { defineConfig } from "vitest/config";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * Files run one at a time and in name order: direct-boot.test.ts boots the image bake.test.ts
 * baked. Vitest's own order puts a file that failed last time, or ran longest, first.
 */
class NameOrderSequencer extends BaseSequencer {
  override sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return Promise.resolve([...files].sort((a, b) => path.basename(a.moduleId).localeCompare(path.basename(b.moduleId))));
  }
}

export default defineConfig({
  test: {
    include: ["test/e2e/**/*.test.ts"],
    testTimeout: 40 * 60_000,
    hookTimeout: 40 * 60_000,
    fileParallelism: false,
    sequence: { sequencer: NameOrderSequencer },
  },
});
