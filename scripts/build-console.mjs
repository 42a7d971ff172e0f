// Builds the web console (console/) into dist/console: one ES module entry, a chunk per page
// (code splitting), content-hashed file names, and index.html naming them. No inline script or
// style, so keyhold can serve it under a strict Content-Security-Policy (src/http/console.ts).
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "dist", "console");
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

// Stylesheets are collected from every import and bundled once, apart: esbuild would otherwise
// give each lazily loaded page a copy of every stylesheet it shares with the others (Cloudscape's
// styles are shared by nearly every page), and load none of them.
const stylesheets = [];
const collectCss = {
  name: "collect-css",
  setup(b) {
    b.onLoad({ filter: /\.css$/ }, (args) => {
      if (!stylesheets.includes(args.path)) stylesheets.push(args.path);
      return { contents: "", loader: "js" };
    });
  },
};

const result = await build({
  entryPoints: { main: join(root, "console", "src", "main.tsx") },
  outdir: join(out, "assets"),
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "browser",
  target: ["es2022"],
  minify: true,
  sourcemap: false,
  jsx: "automatic",
  entryNames: "[name]-[hash]",
  chunkNames: "[name]-[hash]",
  assetNames: "[name]-[hash]",
  loader: { ".woff2": "file", ".woff": "file", ".svg": "file", ".png": "file" },
  define: { "process.env.NODE_ENV": '"production"' },
  metafile: true,
  legalComments: "none",
  logLevel: "warning",
  plugins: [collectCss],
});

const css = await build({
  stdin: { contents: stylesheets.map((f) => `@import ${JSON.stringify(f)};`).join("\n"), loader: "css", resolveDir: root },
  bundle: true,
  minify: true,
  write: false,
  outdir: join(out, "assets"),
  loader: { ".woff2": "dataurl", ".woff": "dataurl", ".svg": "dataurl", ".png": "dataurl" },
  legalComments: "none",
  logLevel: "warning",
});
const cssText = css.outputFiles.find((f) => f.path.endsWith(".css"))?.contents ?? new Uint8Array();
const cssName = `assets/console-${createHash("sha256").update(cssText).digest("hex").slice(0, 12)}.css`;
writeFileSync(join(out, cssName), cssText);

if (process.env.CONSOLE_METAFILE) writeFileSync(process.env.CONSOLE_METAFILE, JSON.stringify(result.metafile));
const outputs = Object.entries(result.metafile.outputs);
const entry = outputs.find(([, o]) => o.entryPoint !== undefined && o.entryPoint.endsWith("main.tsx"));
if (!entry) throw new Error("esbuild produced no entry for console/src/main.tsx");
const rel = (file) => relative(out, join(root, file)).split("\\").join("/");
const styles = [cssName];
const html = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>keyhold console</title>
    <link rel="icon" href="data:," />
${styles.map((s) => `    <link rel="stylesheet" href="${s}" />`).join("\n")}
    <script type="module" src="${rel(entry[0])}"></script>
  </head>
  <body>
    <div id="root"></div>
    <noscript>The keyhold console needs JavaScript.</noscript>
  </body>
</html>
`;
writeFileSync(join(out, "index.html"), html);
const bytes = outputs.reduce((n, [, o]) => n + o.bytes, cssText.length);
console.log(
  `console: ${outputs.length + 1} files, ${(bytes / 1024).toFixed(0)} KiB in ${relative(root, out)} (entry ${basename(entry[0])})`,
);
