import type { HttpResponse, TemplatedApp } from "uWebSockets.js";
import { type ClientBundle, clientBundlePath } from "./client-bundle.js";
import type { Hub } from "./hub.js";
import type { Metrics } from "./metrics.js";
import type { StaticFile } from "./static-files.js";

export interface HttpRouteDeps {
  readonly hubs: readonly Hub[];
  readonly metrics: Metrics;
  readonly isReady: () => boolean;
  /** One word or phrase for the /readyz body. */
  readonly readiness: () => string;
  readonly staticFiles: ReadonlyMap<string, StaticFile> | undefined;
  readonly serveMetrics: boolean;
  readonly version: string;
  /** The client SDK served at /rocket-client.js; undefined: not served here. */
  readonly clientBundle?: ClientBundle | undefined;
}

/**
 * Plain HTTP next to the hubs: probes, metrics, the client SDK, static files, and a short
 * text answer to anything else (never a hang).
 */
export function registerHttpRoutes(app: TemplatedApp, deps: HttpRouteDeps): void {
  const text = (res: HttpResponse, status: string, body: string, type = "text/plain; charset=utf-8"): void => {
    res.cork(() => {
      res.writeStatus(status).writeHeader("content-type", type).writeHeader("cache-control", "no-store").end(body);
    });
  };

  app.get("/healthz", (res) => text(res, "200 OK", "ok\n"));
  app.get("/readyz", (res) => {
    if (deps.isReady()) text(res, "200 OK", "ready\n");
    else text(res, "503 Service Unavailable", `not ready: ${deps.readiness()}\n`);
  });
  if (deps.serveMetrics) {
    app.get("/metrics", (res) => {
      let aborted = false;
      res.onAborted(() => {
        aborted = true;
      });
      deps.metrics.scrape().then(
        (body) => {
          if (!aborted) text(res, "200 OK", body, deps.metrics.registry.contentType);
        },
        (err: unknown) => {
          if (!aborted) text(res, "500 Internal Server Error", `metrics failed: ${(err as Error).message}\n`);
        },
      );
    });
  }

  const bundle = deps.clientBundle;
  if (bundle !== undefined) {
    // One ES module for pages without a bundler, importable from any origin.
    app.get(clientBundlePath, (res, req) => {
      const fresh = req.getHeader("if-none-match") === bundle.etag;
      res.cork(() => {
        res.writeStatus(fresh ? "304 Not Modified" : "200 OK");
        res.writeHeader("content-type", "text/javascript; charset=utf-8");
        res.writeHeader("cache-control", "public, max-age=3600");
        res.writeHeader("etag", bundle.etag);
        res.writeHeader("access-control-allow-origin", "*");
        if (fresh) res.endWithoutBody();
        else res.end(bundle.body);
      });
    });
  }

  const hubPaths = new Set(deps.hubs.map((h) => h.path));
  const banner =
    `Rocket ${deps.version}: a WebSocket pub/sub broker speaking webrocket's JSON protocol.\n` +
    (deps.hubs.length > 0 ? `Connect a WebSocket to ${deps.hubs.map((h) => h.path).join(", ")}.\n` : "");
  app.any("/*", (res, req) => {
    const method = req.getMethod();
    const url = req.getUrl();
    if (method === "get" || method === "head") {
      const file = deps.staticFiles?.get(url);
      if (file) {
        res.cork(() => {
          res.writeStatus("200 OK").writeHeader("content-type", file.type);
          if (method === "head") res.endWithoutBody(file.body.length);
          else res.end(file.body);
        });
        return;
      }
      if (hubPaths.has(url))
        text(res, "426 Upgrade Required", `${banner}This path is a WebSocket hub: send an Upgrade request.\n`);
      else if (url === "/") text(res, "200 OK", banner);
      else text(res, "404 Not Found", `not found: ${url}\n${banner}`);
      return;
    }
    text(res, "405 Method Not Allowed", `method not allowed\n${banner}`);
  });
}
