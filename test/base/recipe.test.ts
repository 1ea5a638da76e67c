// The base recipe per arch: what boots on SeaBIOS (amd64) and on UEFI (arm64), and that the
// two never share a name.
import { describe, expect, it } from "vitest";
import { baseFirmware, baseImageName, baseInputHash, basePackages, baseRecipe } from "../../pipeline/base/index.js";

describe("base recipe", () => {
  it("amd64: the cloud kernel and grub-pc on an MBR disk", async () => {
    const recipe = await baseRecipe("amd64");
    expect(recipe.packages).toContain("linux-image-cloud-amd64");
    expect(recipe.packages).toContain("grub-pc");
    expect(recipe.packages).not.toContain("grub-efi-arm64");
    expect(recipe.firmware).toBe("bios");
  });

  it("arm64: the cloud kernel and grub-efi-arm64 on a GPT disk with an ESP", async () => {
    const recipe = await baseRecipe("arm64");
    expect(recipe.packages).toContain("linux-image-cloud-arm64");
    expect(recipe.packages).toContain("grub-efi-arm64");
    expect(recipe.packages).not.toContain("grub-pc");
    expect(recipe.firmware).toBe("efi");
    expect(baseFirmware("arm64")).toBe("efi");
    // Everything else is the same set.
    const common = (arch: "amd64" | "arm64") => basePackages(arch).filter((p) => !/linux-image|grub/.test(p));
    expect(common("arm64")).toEqual(common("amd64"));
  });

  it("the arches hash and name apart", async () => {
    const amd = baseInputHash(await baseRecipe("amd64"));
    const arm = baseInputHash(await baseRecipe("arm64"));
    expect(amd).not.toBe(arm);
    expect(baseImageName("arm64", arm)).toMatch(/^debian-13-debootstrap-arm64-[0-9a-f]{16}$/);
  });
});
