// The slow suite: real Packer, real QEMU (TCG here), a Debian base built from the archive.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/e2e/**/*.test.ts"],
    testTimeout: 40 * 60_000,
    hookTimeout: 40 * 60_000,
    fileParallelism: false,
  },
});
