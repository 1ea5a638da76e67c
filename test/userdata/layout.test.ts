// Podplane's user-data.env layout (pipeline/userdata/layout.ts) and vmconfig's variables.tsv
// agree: every user-data row is in the layout, every layout name is in the table (the two
// NSTANCE_SERVER_* addresses are mutable rows there: mutable.env may update them later), and
// each launch value's placeholder is the table's template.
import { describe, expect, it } from "vitest";
import { USER_DATA_ENV_FIELDS } from "../../pipeline/userdata/index.js";
import { loadVariables } from "../../pipeline/vmconfig/index.js";

describe("user-data.env layout vs variables.tsv", () => {
  it("names the same variables with the same Nstance placeholders", () => {
    const table = loadVariables();
    const layout = USER_DATA_ENV_FIELDS.map((f) => f.name);
    expect(table.filter((v) => v.source === "user-data").map((v) => v.name).filter((n) => !layout.includes(n))).toEqual([]);
    expect(layout.filter((n) => !table.some((v) => v.name === n))).toEqual([]);
    for (const field of USER_DATA_ENV_FIELDS) {
      expect(table.find((v) => v.name === field.name)?.template, field.name).toBe(field.placeholder);
    }
  });
});
