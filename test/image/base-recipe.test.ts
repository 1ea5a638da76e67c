import { describe, expect, it } from "vitest";
import { baseImageName, baseInputHash, basePackages, baseRecipe } from "../../pipeline/base/index.js";

describe("debootstrap base recipe", () => {
  it("hashes the same recipe to the same name", async () => {
    const a = baseInputHash(await baseRecipe("amd64"));
    const b = baseInputHash(await baseRecipe("amd64"));
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(b).toBe(a);
    expect(baseImageName("amd64", a)).toBe(`debian-13-debootstrap-amd64-${a.slice(0, 16)}`);
  });

  it("changes the hash when the package list, suite, version or a script changes", async () => {
    const recipe = await baseRecipe("amd64");
    const hash = baseInputHash(recipe);
    const variants = [
      { ...recipe, packages: [...recipe.packages, "vim"] },
      { ...recipe, suite: "forky" },
      { ...recipe, recipeVersion: recipe.recipeVersion + 1 },
      { ...recipe, scripts: { ...recipe.scripts, "make-disk.sh": "0".repeat(64) } },
      { ...recipe, arch: "arm64" as const },
    ];
    const hashes = variants.map((v) => baseInputHash(v));
    for (const h of hashes) expect(h).not.toBe(hash);
    expect(new Set(hashes).size).toBe(hashes.length);
  });

  it("carries what the image needs to boot under QEMU with cloud-init", () => {
    const packages = basePackages("amd64");
    for (const p of ["linux-image-cloud-amd64", "cloud-init", "openssh-server", "grub-pc", "systemd-resolved", "locales"]) expect(packages).toContain(p);
  });
});
