// Public API of the build plan: what a selection of kind × arch × target means (pure data) and
// how it is carried out (run.ts, imported on its own so a no-op never loads the bake stack).
export { computePlan, decideAction, entryLabel, planEntry, selectManifests, type BuildPlan, type PlanAction, type PlanEntry, type PlanOptions } from "./plan.js";
export { sharedInputs, type SharedInputs } from "./inputs.js";
export { DEFAULT_ARCHES, DEFAULT_TARGETS, type Selection } from "./selectors.js";
export { planJson, githubMatrix, planTable, summaryTable, type GithubMatrix, type PlanEntryJson } from "./format.js";
