// `mirror export DIR` and `mirror serve DIR`: make and serve a <host>/<path> mirror tree.
import type { Command } from "commander";
import { parsePort } from "../cli/options.js";
import { printError, printJson, printLine } from "../cli/output.js";
import { exportMirror, serveMirror } from "../mirror/index.js";
import { addCacheOption, addSelectionOptions, EXIT_CODES_HELP, selectManifests, type CacheFlags, type SelectionFlags } from "./fetch.js";

interface ExportFlags extends SelectionFlags, Omit<CacheFlags, "mirror"> {
  baseImage?: boolean;
  images?: boolean;
  json?: boolean;
}

function waitForInterrupt(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const done = (signal: NodeJS.Signals) => {
      process.off("SIGINT", done);
      process.off("SIGTERM", done);
      resolve(signal);
    };
    process.on("SIGINT", done);
    process.on("SIGTERM", done);
  });
}

export function register(program: Command): Command {
  const mirror = program
    .command("mirror")
    .description("Write a mirror tree from the cache (export) or serve one over HTTP (serve)")
    .addHelpText(
      "after",
      `
A mirror holds each artifact at <host>/<path> of its upstream URL (the layout \`wget -x\`
makes), e.g. MIRROR/dl.k8s.io/release/v1.36.1/bin/linux/amd64/kubelet, and each container
image as its registry serves it: MIRROR/<registry>/v2/<repository>/manifests/<digest> (the
index, the platform manifests, and the tag as a copy of the index) and
MIRROR/<registry>/v2/<repository>/blobs/<digest>. Use it with
\`fetch --mirror URL|DIR\` or PODPLANE_IMAGES_MIRROR; digests are still checked.`,
    );

  const exportCommand = mirror
    .command("export")
    .argument("<dir>", "directory to write the mirror tree into")
    .description("Hard-link (or copy) the verified cache entries of the selected manifests into DIR/<host>/<path>")
    .addHelpText("after", `\nEvery entry is re-verified first; a missing or corrupt one is reported (run fetch first).\n${EXIT_CODES_HELP}`);
  addSelectionOptions(exportCommand);
  addCacheOption(exportCommand);
  exportCommand
    .option("--base-image", "also export each manifest's Debian base image")
    .option("--no-images", "leave out the container images (vmconfig.images)")
    .option("--json", "print one JSON document on stdout")
    .action(async (dir: string, flags: ExportFlags) => {
      const manifests = await selectManifests(flags);
      const files = await exportMirror({ manifests, cacheDir: flags.cache, dir, includeBaseImage: flags.baseImage, images: flags.images });
      if (flags.json) return printJson({ ok: true, dir, files });
      for (const f of files) printLine(`${f.how.padEnd(8)}${f.path}`);
      printLine(`exported ${files.length} files into ${dir}`);
    });

  mirror
    .command("serve")
    .argument("<dir>", "mirror tree to serve")
    .description("Serve a mirror tree over HTTP on 127.0.0.1 until Ctrl-C")
    .option("--port <n>", "port (0 picks a free one)", parsePort, 8080)
    .option("--host <address>", "address to listen on", "127.0.0.1")
    .option("--json", "print the URL as one JSON document on stdout")
    .addHelpText(
      "after",
      `\nPrints the base URL to pass to --mirror. Missing files are 404s. An image's manifests are served
with their own media type and blobs as application/octet-stream, each with Docker-Content-Digest.
Ctrl-C stops it.\n${EXIT_CODES_HELP}`,
    )
    .action(async (dir: string, flags: { port: number; host: string; json?: boolean }) => {
      const server = await serveMirror({ dir, port: flags.port, host: flags.host, log: flags.json ? undefined : printError });
      if (flags.json) printJson({ ok: true, url: server.url, dir });
      else printLine(server.url);
      await waitForInterrupt();
      await server.close();
    });
  return mirror;
}
