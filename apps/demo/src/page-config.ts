/** What the page reads from its own address. */
export interface PageConfig {
  /** Hub URLs for the client, in rotation order. */
  readonly urls: readonly string[];
  /** The read-write secret, if the address carries one. */
  readonly secret: string | undefined;
  /** A token (from `rocket token`, or the link the gateway prints at start), if the address carries one. */
  readonly token: string | undefined;
}

/** The parts of `window.location` the page reads. */
export type PageLocation = Pick<Location, "protocol" | "host" | "search" | "hash">;

/**
 * Reads the page's address: `http://host:port/?urls=ws://a/,ws://b/&hub=/path#token=T` (or
 * `#secret=S`, the hub's read-write secret, as before tokens).
 *
 * - The hub defaults to the server that served the page (`ws://same-host/`), so the page
 *   works the same on one node and behind a load balancer. `hub` picks another hub path;
 *   `urls` (comma-separated) replaces the list, e.g. one URL per node of a cluster.
 * - The token or secret travels in the fragment, which browsers never send to any server, so
 *   it does not end up in access logs. It is percent-encoded (`encodeURIComponent`).
 */
export function readPageConfig(location: PageLocation): PageConfig {
  const query = new URLSearchParams(location.search);
  const hub = query.get("hub") || "/";
  const listed = (query.get("urls") ?? "")
    .split(",")
    .map((u) => u.trim())
    .filter((u) => u !== "");
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const urls = listed.length > 0 ? listed : [`${scheme}//${location.host}${hub.startsWith("/") ? hub : `/${hub}`}`];
  return { urls, secret: readSecret(location.hash), token: fragmentParams(location.hash).get("token") || undefined };
}

/** `#secret=S` (other fragment parameters are allowed); undefined when absent or empty. */
export function readSecret(hash: string): string | undefined {
  const value = fragmentParams(hash).get("secret");
  return value ? value : undefined;
}

/** The fragment with `secret` set to `secret`, other parameters kept. */
export function withSecret(hash: string, secret: string): string {
  const params = fragmentParams(hash);
  params.delete("secret");
  const rest = params.toString();
  return `#secret=${encodeURIComponent(secret)}${rest ? `&${rest}` : ""}`;
}

function fragmentParams(hash: string): URLSearchParams {
  // URLSearchParams would read "+" as a space; in a fragment it is a plus.
  return new URLSearchParams(hash.replace(/^#/, "").replaceAll("+", "%2B"));
}
