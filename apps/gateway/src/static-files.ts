import { readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join, relative, sep } from "node:path";

const types: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
  ".webmanifest": "application/manifest+json",
};

export interface StaticFile {
  readonly body: Buffer;
  readonly type: string;
}

/** Most bytes read into memory from a static directory. */
const maxTotalBytes = 64 * 1024 * 1024;

/**
 * Reads a directory of static files into memory once, at start, keyed by URL path
 * (`/index.html` is also served at `/`). Small sites only: the demo, a status page.
 */
export function loadStaticFiles(dir: string): ReadonlyMap<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  let total = 0;
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const full = join(at, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) {
        total += statSync(full).size;
        if (total > maxTotalBytes) throw new Error(`static directory ${dir} holds more than ${maxTotalBytes} bytes`);
        const url = `/${relative(dir, full).split(sep).join("/")}`;
        const file = { body: readFileSync(full), type: types[extname(full).toLowerCase()] ?? "application/octet-stream" };
        files.set(url, file);
        if (url.endsWith("/index.html")) files.set(url.slice(0, -"index.html".length), file);
      }
    }
  };
  walk(dir);
  return files;
}
