// The wiring of the nightly and release workflows: jobs, needs, outputs, the matrix, the cache,
// the artifacts, and every `needs.*` / `steps.*` / `matrix.*` expression pointing at something
// that exists where it is used.
import { describe, expect, it } from "vitest";
import { expressionsIn, needsOf, readWorkflow, workflowFiles, type Job, type Workflow } from "./workflow-files.js";

/** Problems with the expressions of one workflow: references to jobs, outputs, steps or a matrix that are not there. */
function referenceProblems(wf: Workflow): string[] {
  const problems: string[] = [];
  const jobs = wf.doc.jobs;
  for (const [name, job] of Object.entries(jobs)) {
    for (const need of needsOf(job)) if (!jobs[need]) problems.push(`${name}: needs unknown job ${need}`);
    const stepIds = new Set((job.steps ?? []).map((s) => s.id).filter((id): id is string => typeof id === "string"));
    const { steps, ...jobLevel } = job;
    const scopes: Array<[string, unknown]> = [["job", jobLevel], ...(steps ?? []).map((s, i): [string, unknown] => [`step ${s.name ?? i + 1}`, s])];
    for (const [where, value] of scopes) {
      for (const expression of expressionsIn(value)) {
        for (const m of expression.matchAll(/\bneeds\.([\w-]+)(?:\.outputs\.([\w-]+))?/g)) {
          const [, job2 = "", output] = m;
          if (!needsOf(job).includes(job2)) problems.push(`${name} ${where}: needs.${job2} but ${name} does not need ${job2}`);
          else if (output !== undefined && !(jobs[job2]?.outputs && output in (jobs[job2].outputs ?? {}))) problems.push(`${name} ${where}: ${job2} has no output ${output}`);
        }
        for (const m of expression.matchAll(/\bsteps\.([\w-]+)\./g)) {
          if (!stepIds.has(m[1] ?? "")) problems.push(`${name} ${where}: no step with id ${m[1]}`);
        }
        if (/\bmatrix\./.test(expression) && !job.strategy?.matrix) problems.push(`${name} ${where}: matrix.* in a job without a matrix`);
        if (/\binputs\./.test(expression) && !hasDispatchInputs(wf)) problems.push(`${name} ${where}: inputs.* in a workflow without inputs`);
      }
    }
  }
  return problems;
}

function hasDispatchInputs(wf: Workflow): boolean {
  const on = wf.doc.on as Record<string, { inputs?: unknown } | null> | undefined;
  return !!on && typeof on === "object" && !!on.workflow_dispatch?.inputs;
}

function runs(job: Job): string {
  return (job.steps ?? []).map((s) => s.run ?? "").join("\n");
}

function uses(job: Job, action: string) {
  return (job.steps ?? []).filter((s) => s.uses?.startsWith(`${action}@`));
}

const nightly = readWorkflow("nightly.yml");
const release = readWorkflow("release.yml");

describe("workflow wiring", () => {
  it.each(workflowFiles())("%s: every needs/steps/matrix/inputs expression points at something that exists", (file) => {
    expect(referenceProblems(readWorkflow(file))).toEqual([]);
  });

  it("the reference check itself finds a broken wiring", () => {
    const broken: Workflow = {
      file: "broken.yml",
      text: "",
      doc: {
        on: { push: null },
        jobs: {
          a: { outputs: { m: "${{ steps.p.outputs.m }}" }, steps: [{ id: "q", run: "true" }] },
          b: { needs: ["a", "zz"], strategy: { matrix: "${{ fromJSON(needs.a.outputs.matrix) }}" }, steps: [{ run: "echo ${{ needs.c.outputs.x }} ${{ inputs.keep }}" }] },
          c: { steps: [{ run: "echo ${{ matrix.kind }}" }] },
        },
      },
    };
    expect(referenceProblems(broken)).toEqual([
      "a job: no step with id p",
      "b: needs unknown job zz",
      "b job: a has no output matrix",
      "b step 1: needs.c but b does not need c",
      "b step 1: inputs.* in a workflow without inputs",
      "c step 1: matrix.* in a job without a matrix",
    ]);
  });

  it("nightly: scheduled and dispatchable; plan → one build job per entry → merge → prune", () => {
    const on = nightly.doc.on as Record<string, unknown>;
    expect(on).toHaveProperty("schedule");
    expect(on).toHaveProperty("workflow_dispatch");
    const { plan, build, merge } = nightly.doc.jobs;
    if (!plan || !build || !merge) throw new Error("nightly.yml: expected jobs plan, build, merge");

    // plan: `plan --format github --changed-only` into a job output.
    expect(runs(plan)).toMatch(/matrix=\$\(podplane-images plan [^)]*--format github --changed-only\)/);
    expect(runs(plan)).toContain('echo "matrix=$matrix" >> "$GITHUB_OUTPUT"');
    expect(plan.outputs?.matrix).toBe("${{ steps.plan.outputs.matrix }}");

    // build: the matrix is the plan's include list; skipped when it is empty; no fail-fast.
    expect(needsOf(build)).toEqual(["plan"]);
    expect(build.strategy?.matrix).toBe("${{ fromJSON(needs.plan.outputs.matrix) }}");
    expect(build.strategy?.["fail-fast"]).toBe(false);
    expect(build.if).toBe("needs.plan.outputs.count != '0'");
    expect(runs(build)).toMatch(/podplane-images build --kind "\$\{\{ matrix\.kind \}\}" --arch "\$\{\{ matrix\.arch \}\}" --target qemu/);
    expect(runs(build)).toMatch(/podplane-images build --kind "\$\{\{ matrix\.kind \}\}" --arch "\$\{\{ matrix\.arch \}\}" --target aws/);
    const [cache] = uses(build, "actions/cache");
    expect(cache?.with?.key).toContain("${{ hashFiles('manifests/**') }}");
    expect(cache?.with?.path).toBe("${{ env.PODPLANE_IMAGES_CACHE }}");
    const [upload] = uses(build, "actions/upload-artifact");
    expect(upload?.if).toBe("always()");
    expect(upload?.with).toMatchObject({ name: "image-${{ matrix.kind }}-${{ matrix.arch }}-${{ matrix.target }}", path: "out/" });

    // merge: runs when builds failed too (publishes the others), downloads them all, merges, prunes, uploads.
    expect(needsOf(merge)).toEqual(["plan", "build"]);
    expect(merge.if).toBe("always() && needs.plan.result == 'success'");
    expect(uses(merge, "actions/download-artifact")[0]?.with).toMatchObject({ pattern: "image-*", path: "artifacts" });
    const script = runs(merge);
    const order = ["podplane-images images merge", "podplane-images prune --keep", "gh release upload nightly"].map((s) => script.indexOf(s));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    const published = uses(merge, "actions/upload-artifact")[0]?.with?.path;
    for (const file of ["out/images.json", "out/images.auto.tfvars.json", "out/nstance-images.*.json"]) expect(published).toContain(file);
  });

  it("release: on a version tag; builds what is missing, merges, attaches the published files and release files", () => {
    expect(release.doc.on).toEqual({ push: { tags: ["v*"] } });
    const { plan, build, publish } = release.doc.jobs;
    if (!plan || !build || !publish) throw new Error("release.yml: expected jobs plan, build, publish");
    expect(runs(plan)).toMatch(/podplane-images plan [^\n]*--manifests manifests [^\n]*--format github --changed-only/);
    expect(build.strategy?.matrix).toBe("${{ fromJSON(needs.plan.outputs.matrix) }}");
    expect(needsOf(publish)).toEqual(["plan", "build"]);
    expect(publish.if).toContain("needs.build.result == 'success' || needs.build.result == 'skipped'");
    const script = runs(publish);
    expect(script).toContain("podplane-images images merge");
    const upload = script.slice(script.indexOf("gh release upload"));
    for (const file of ["out/images.json", "out/images.auto.tfvars.json", "out/nstance-images.*.json", "release-plan.json", "out/vmconfig.tar.gz", "manifests/*.json"]) {
      expect(upload).toContain(file);
    }
  });
});
