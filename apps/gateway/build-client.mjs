import { build } from "esbuild";

/**
 * Bundles the client SDK (@rocket/client, from its sources, with @rocket/protocol) into one
 * ES module, dist/rocket-client.js, that every gateway serves at /rocket-client.js for pages
 * without a bundler. No hashes or timestamps: the same sources give the same bytes.
 */
await build({
  absWorkingDir: new URL("../..", import.meta.url).pathname,
  entryPoints: ["packages/client/src/index.ts"],
  outfile: "apps/gateway/dist/rocket-client.js",
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["es2022", "chrome100", "firefox100", "safari15"],
  // The `ws` fallback is for Node 20 only; browsers have WebSocket.
  external: ["ws"],
  minify: true,
  legalComments: "none",
  logLevel: "warning",
});
