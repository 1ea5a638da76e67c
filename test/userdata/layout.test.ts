// Podplane's user-data.env layout (pipeline/userdata/layout.ts) and vmconfig's variables.tsv
// name the same user-data variables, with the same Nstance placeholders.
import { describe, expect, it } from "vitest";
import { USER_DATA_ENV_FIELDS } from "../../pipeline/userdata/index.js";
import { loadVariables } from "../../pipeline/vmconfig/index.js";

describe("user-data.env layout vs variables.tsv", () => {
  it("has exactly the user-data rows of variables.tsv, each launch value with its template", () => {
    const rows = loadVariables().filter((v) => v.source === "user-data");
    expect(rows.map((r) => r.name).sort()).toEqual(USER_DATA_ENV_FIELDS.map((f) => f.name).sort());
    for (const field of USER_DATA_ENV_FIELDS.filter((f) => f.placeholder)) {
      expect(rows.find((r) => r.name === field.name)?.template, field.name).toBe(field.placeholder);
    }
  });
});
