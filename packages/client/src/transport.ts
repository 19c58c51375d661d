import { ClientErrorCode, RocketError } from "./errors.js";

/**
 * The part of the WHATWG WebSocket the client uses. Browsers', Node 22's global and the
 * `ws` package's WebSocket all fit it.
 */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { readonly data: unknown }) => void) | null;
  onclose: ((event: { readonly code: number; readonly reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

/** A WebSocket class: `new WebSocket(url)`. */
export type WebSocketConstructor = new (url: string) => SocketLike;

/** `WebSocket.OPEN` */
export const socketOpen = 1;

/** The runtime's own WebSocket, if it has one (browsers, Deno, Bun, Node 22+). */
export function globalWebSocket(): WebSocketConstructor | undefined {
  return (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
}

/**
 * The runtime's WebSocket, or the `ws` package's where there is none (Node 20). `ws` is an
 * optional dependency: loaded only when needed so that browser bundles never pull it in.
 */
export async function loadWebSocket(): Promise<WebSocketConstructor> {
  const own = globalWebSocket();
  if (own !== undefined) return own;
  try {
    const ws = (await import("ws")) as unknown as { WebSocket?: unknown; default?: unknown };
    return (ws.WebSocket ?? ws.default) as WebSocketConstructor;
  } catch (cause) {
    throw new RocketError(
      ClientErrorCode.NoWebSocket,
      "no WebSocket implementation: this runtime has none built in and the ws package is not installed",
      { cause },
    );
  }
}
