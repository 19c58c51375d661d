import type { HttpRequest, HttpResponse, TemplatedApp } from "uWebSockets.js";
import { createHash, timingSafeEqual } from "node:crypto";
import { ApiErrorCode, ApiPath, maxBatchBodyBytes } from "@rocket/protocol";
import type { Logger } from "pino";
import { type ApiAnswer, type ApiHandlers, apiError } from "./api-handlers.js";

/** Values of the `endpoint` label on `rocket_api_requests_total`. */
export const apiEndpoints = ["publish", "batch", "channels", "presence", "disconnect", "other"] as const;
export type ApiEndpoint = (typeof apiEndpoints)[number];

export interface ApiRouteDeps {
  readonly handlers: ApiHandlers;
  /** The accepted keys (`ApiKeys`); at least one. */
  readonly keys: readonly string[];
  /** Largest body of `POST /api/publish` and `/api/disconnect` (`MaxPayloadBytes`). */
  readonly maxPayloadBytes: number;
  /** Counts each request by endpoint and answer code (`ok` or the error code). */
  readonly count: (endpoint: ApiEndpoint, code: string) => void;
  readonly logger: Logger;
}

interface Route {
  readonly endpoint: ApiEndpoint;
  readonly method: "get" | "post";
  /** Largest body, for POST. */
  readonly maxBytes: number;
  readonly run: (input: { body: string; query: URLSearchParams }) => Promise<ApiAnswer>;
}

const statusLines: Readonly<Record<number, string>> = {
  200: "200 OK",
  400: "400 Bad Request",
  401: "401 Unauthorized",
  404: "404 Not Found",
  405: "405 Method Not Allowed",
  413: "413 Payload Too Large",
  500: "500 Internal Server Error",
  503: "503 Service Unavailable",
};

/** Keys compared as SHA-256 digests: equal lengths for timingSafeEqual, whatever the lengths given. */
function keyChecker(keys: readonly string[]): (header: string) => boolean {
  const digests = keys.map((k) => createHash("sha256").update(k, "utf8").digest());
  return (header) => {
    const match = /^Bearer +(\S+) *$/i.exec(header);
    const given = createHash("sha256")
      .update(match?.[1] ?? "", "utf8")
      .digest();
    // Every key is compared, whichever matches: the time says nothing about which, or how close.
    let found = false;
    for (const digest of digests) found = timingSafeEqual(given, digest) || found;
    return found && match !== null;
  };
}

/**
 * The HTTP API under `/api/` on `app`: a Bearer key checked in constant time (401 without
 * one of `ApiKeys`), then the endpoint (404), its method (405) and its body size (413,
 * before reading when Content-Length says so); bodies are read whole, then handed to the
 * handlers. Every answer is JSON; every error body is `{"err":"<code>"}`.
 */
export function registerApiRoutes(app: TemplatedApp, deps: ApiRouteDeps): void {
  const { handlers, count, logger } = deps;
  const authorized = keyChecker(deps.keys);
  const routes = new Map<string, Route>([
    [
      ApiPath.Publish,
      { endpoint: "publish", method: "post", maxBytes: deps.maxPayloadBytes, run: (i) => handlers.publish(i.body) },
    ],
    [ApiPath.Batch, { endpoint: "batch", method: "post", maxBytes: maxBatchBodyBytes, run: (i) => handlers.batch(i.body) }],
    [ApiPath.Channels, { endpoint: "channels", method: "get", maxBytes: 0, run: (i) => handlers.channels(i.query) }],
    [ApiPath.Presence, { endpoint: "presence", method: "get", maxBytes: 0, run: (i) => handlers.presence(i.query) }],
    [
      ApiPath.Disconnect,
      { endpoint: "disconnect", method: "post", maxBytes: deps.maxPayloadBytes, run: (i) => handlers.disconnect(i.body) },
    ],
  ]);

  const handle = (res: HttpResponse, req: HttpRequest): void => {
    // The request is only valid until the first await: read what is needed now.
    const method = req.getMethod().toLowerCase();
    const url = req.getUrl();
    const query = new URLSearchParams(req.getQuery() ?? "");
    const authorization = req.getHeader("authorization");
    const length = req.getHeader("content-length");
    const chunked = req.getHeader("transfer-encoding") !== "";
    const hasBody = chunked || (length !== "" && length !== "0");
    const route = routes.get(url);
    const endpoint = route?.endpoint ?? "other";
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    const send = (answer: ApiAnswer, extraHeaders: readonly [string, string][] = [], close = false): void => {
      const code = "err" in answer.body ? String((answer.body as { err: unknown }).err) : "ok";
      count(endpoint, code);
      if (aborted) return;
      res.cork(() => {
        res.writeStatus(statusLines[answer.status] ?? `${answer.status} Error`);
        res.writeHeader("content-type", "application/json").writeHeader("cache-control", "no-store");
        for (const [name, value] of extraHeaders) res.writeHeader(name, value);
        // A body left unread would be taken for the next request: close after answering.
        res.end(JSON.stringify(answer.body), close);
      });
    };

    if (!authorized(authorization)) return send(apiError(ApiErrorCode.Unauthorized), [["www-authenticate", "Bearer"]], hasBody);
    if (route === undefined) return send(apiError(ApiErrorCode.NotFound), [], hasBody);
    if (route.method !== method) {
      return send(apiError(ApiErrorCode.MethodNotAllowed), [["allow", route.method.toUpperCase()]], hasBody);
    }
    const fail = (err: unknown): void => {
      logger.error({ err, endpoint }, "API request failed");
      send({ status: 500, body: { err: "internal" } });
    };
    if (route.method === "get") {
      route.run({ body: "", query }).then(send, fail);
      return;
    }
    if (length !== "" && Number(length) > route.maxBytes) return send(apiError(ApiErrorCode.PayloadTooLarge), [], true);
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    res.onData((chunk, isLast) => {
      if (tooLarge) return;
      size += chunk.byteLength;
      if (size > route.maxBytes) {
        tooLarge = true;
        send(apiError(ApiErrorCode.PayloadTooLarge), [], true);
        return;
      }
      // uWS reuses the chunk's memory after this call: copy it.
      chunks.push(Buffer.from(new Uint8Array(chunk)));
      if (!isLast) return;
      const body = Buffer.concat(chunks).toString("utf8");
      route.run({ body, query }).then(send, fail);
    });
  };

  app.any("/api/*", handle);
}
