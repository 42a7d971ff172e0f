/**
 * Loads a module of the console's sources (console/src, TypeScript written for the browser bundle)
 * into a node test: esbuild bundles it as the console's own build does, leaving packages (the AWS
 * SDK) to node, so the test and the module share one SDK. Tests import only the types of console/
 * (the root `tsc` emits those files into dist/console/src as it checks them, but dist/console is the
 * served console that `npm run build` rewrites after tsc, so nothing may load them from there).
 */
import { build } from "esbuild";
import { mkdirSync, rmSync } from "node:fs";
import { basename, join } from "node:path";
import { pathToFileURL } from "node:url";

const ROOT = join(import.meta.dirname, "..", "..");
const OUT = join(import.meta.dirname, "console-modules");

export async function loadConsoleModule<T>(entry: string): Promise<T> {
  mkdirSync(OUT, { recursive: true });
  const outfile = join(OUT, `${basename(entry).replace(/\.tsx?$/, "")}-${process.pid}.mjs`);
  await build({
    entryPoints: [join(ROOT, entry)],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: ["node22"],
    packages: "external",
    logLevel: "warning",
  });
  try {
    return (await import(pathToFileURL(outfile).href)) as T;
  } finally {
    rmSync(outfile, { force: true });
  }
}
