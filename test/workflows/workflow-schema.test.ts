// The workflows against GitHub's own workflow schema, offline: @actions/workflow-parser (from
// actions/languageservices, the parser behind the Actions VS Code extension) reads each file
// against its bundled workflow-v1.0 schema, then converts it, which also checks job ids, needs,
// matrix and expression syntax. Nothing is fetched: reusable workflows are not used here.
//
// Needs the dev dependency @actions/workflow-parser@0.3.61, and vitest inlining it
// (`test.server.deps.inline`) because it imports its schema JSON without an import attribute,
// which Node's own loader refuses.
import { describe, expect, it } from "vitest";
import { readWorkflow, workflowFiles } from "./workflow-files.js";

interface ParserModule {
  parseWorkflow(file: { name: string; content: string }, trace: unknown): { context: { errors: { getErrors(): Array<{ message: string }> } }; value: unknown };
  convertWorkflowTemplate(context: unknown, value: unknown): Promise<{ errors?: Array<{ Message: string }> }>;
  NoOperationTraceWriter: new () => unknown;
}

const PARSER = "@actions/workflow-parser";

async function loadParser(): Promise<ParserModule> {
  try {
    return (await import(/* @vite-ignore */ PARSER)) as ParserModule;
  } catch (error) {
    throw new Error(`${PARSER} is not installed: npm install --save-dev ${PARSER}@0.3.61 (see this file's header)`, { cause: error });
  }
}

async function schemaErrors(name: string, content: string): Promise<string[]> {
  const parser = await loadParser();
  const parsed = parser.parseWorkflow({ name, content }, new parser.NoOperationTraceWriter());
  const errors = parsed.context.errors.getErrors().map((e) => e.message);
  if (errors.length > 0 || parsed.value === undefined) return errors;
  const template = await parser.convertWorkflowTemplate(parsed.context, parsed.value);
  return (template.errors ?? []).map((e) => e.Message);
}

describe("workflows against GitHub's workflow schema", () => {
  it.each(workflowFiles())("%s", async (file) => {
    expect(await schemaErrors(file, readWorkflow(file).text)).toEqual([]);
  });

  it("the schema check finds an unknown key, an unknown needed job and a bad expression", async () => {
    const bad = `on: push
jobs:
  a:
    runs-on: ubuntu-24.04
    steps:
      - run: echo hi
        shel: bash
`;
    expect(await schemaErrors("bad.yml", bad)).toEqual([expect.stringContaining("Unexpected value 'shel'")]);
    const badNeeds = `on: push
jobs:
  b:
    needs: [zz]
    runs-on: ubuntu-24.04
    steps:
      - run: echo \${{ fromJSON( }}
`;
    const errors = await schemaErrors("bad-needs.yml", badNeeds);
    expect(errors.length).toBeGreaterThan(0);
  });
});
