import { copyFile, mkdir, rm } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

/**
 * Builds the demo into dist/: index.html, app.js (the page with @rocket/client bundled)
 * and app.css. No hashes or timestamps in the output, so the same sources give the same bytes.
 */
const root = fileURLToPath(new URL(".", import.meta.url));
const dist = fileURLToPath(new URL("./dist/", import.meta.url));

await rm(dist, { recursive: true, force: true });
await mkdir(dist, { recursive: true });
await build({
  absWorkingDir: root,
  entryPoints: [
    { in: "src/main.ts", out: "app" },
    { in: "src/style.css", out: "app" },
  ],
  outdir: "dist",
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["es2022", "chrome100", "firefox100", "safari15"],
  minify: true,
  sourcemap: "linked",
  legalComments: "none",
  logLevel: "warning",
});
await copyFile(new URL("./index.html", import.meta.url), new URL("./dist/index.html", import.meta.url));
