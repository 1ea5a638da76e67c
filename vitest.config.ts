import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "pipeline/**/*.test.ts"],
    exclude: ["test/e2e/**", "node_modules/**", "dist/**"],
    testTimeout: 30_000,
    // @actions/workflow-parser imports its schema JSON without an import attribute, which Node's
    // own loader refuses; vite's transform handles it.
    server: { deps: { inline: [/@actions\/workflow-parser/] } },
  },
});
