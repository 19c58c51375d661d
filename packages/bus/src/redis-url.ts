/** One Redis server address. */
export interface RedisAddress {
  readonly host: string;
  readonly port: number;
}

/** What a Redis URL points at: one server, or a Redis Cluster reached through seed nodes. */
export type RedisTarget =
  | {
      readonly kind: "redis";
      readonly address: RedisAddress;
      readonly tls: boolean;
      readonly username: string | undefined;
      readonly password: string | undefined;
      readonly db: number;
    }
  | {
      readonly kind: "redis-cluster";
      /** Seed nodes; the rest of the cluster is discovered from them. */
      readonly seeds: readonly RedisAddress[];
      readonly tls: boolean;
      readonly username: string | undefined;
      readonly password: string | undefined;
    };

/** A Redis URL that cannot be used; the message says why and never repeats a password. */
export class RedisUrlError extends Error {
  readonly code = "redis_url_invalid";
  constructor(message: string) {
    super(message);
    this.name = "RedisUrlError";
  }
}

const defaultPort = 6379;
const schemes: Readonly<Record<string, { cluster: boolean; tls: boolean }>> = {
  redis: { cluster: false, tls: false },
  rediss: { cluster: false, tls: true },
  "redis+cluster": { cluster: true, tls: false },
  "rediss+cluster": { cluster: true, tls: true },
};

/**
 * Parses the URL forms Rocket accepts:
 * - `redis://[user:password@]host[:port][/db]`, `rediss://…` (TLS): one Redis server;
 * - `redis+cluster://[user:password@]host:port,host:port,…`, `rediss+cluster://…`: a Redis
 *   Cluster, given by one or more seed nodes (pub/sub is sharded: SSUBSCRIBE/SPUBLISH).
 * A comma list under plain `redis://` is refused rather than guessed at, so a cluster is
 * always asked for explicitly. Query parameters are refused (none are supported).
 */
export function parseRedisUrl(url: string): RedisTarget {
  const [, schemeText, afterScheme] = /^([a-z+]+):\/\/(.*)$/i.exec(url.trim()) ?? [];
  if (schemeText === undefined || afterScheme === undefined)
    throw new RedisUrlError("not a URL: expected redis://, rediss://, redis+cluster:// or rediss+cluster://");
  const schemeName = schemeText.toLowerCase();
  const scheme = schemes[schemeName];
  if (!scheme)
    throw new RedisUrlError(`unknown scheme "${schemeName}://": use redis://, rediss://, redis+cluster:// or rediss+cluster://`);
  let rest = afterScheme;
  if (rest.includes("?") || rest.includes("#")) throw new RedisUrlError("query parameters and fragments are not supported");
  const slash = rest.indexOf("/", rest.lastIndexOf("@") + 1);
  const path = slash === -1 ? "" : rest.slice(slash + 1);
  rest = slash === -1 ? rest : rest.slice(0, slash);

  const at = rest.lastIndexOf("@");
  const { username, password } = at === -1 ? { username: undefined, password: undefined } : userInfo(rest.slice(0, at));
  const hostList = at === -1 ? rest : rest.slice(at + 1);
  if (hostList === "") throw new RedisUrlError("no host");
  const [first, ...others] = hostList.split(",").map(address);
  if (first === undefined) throw new RedisUrlError("no host");
  const addresses = [first, ...others];

  if (scheme.cluster) {
    if (path !== "" && path !== "0") throw new RedisUrlError("a Redis Cluster has only database 0");
    return { kind: "redis-cluster", seeds: addresses, tls: scheme.tls, username, password };
  }
  if (others.length > 0) {
    throw new RedisUrlError(
      `several hosts need the cluster form: ${scheme.tls ? "rediss" : "redis"}+cluster://host:port,host:port`,
    );
  }
  if (!/^\d{0,5}$/.test(path)) throw new RedisUrlError(`database "${path}" is not a number`);
  return { kind: "redis", address: first, tls: scheme.tls, username, password, db: path === "" ? 0 : Number(path) };
}

/** The URL with any password replaced, for logs. */
export function redactRedisUrl(url: string): string {
  return url.replace(/\/\/([^@/]*):([^@/]*)@/, "//$1:***@");
}

/** Where a target points, as a URL without its password, for logs. */
export function describeRedisTarget(target: RedisTarget): string {
  const scheme = `${target.tls ? "rediss" : "redis"}${target.kind === "redis-cluster" ? "+cluster" : ""}`;
  const user = target.username ?? "";
  const credentials = target.password !== undefined ? `${user}:***@` : user !== "" ? `${user}@` : "";
  const host = ({ host, port }: RedisAddress) => `${host.includes(":") ? `[${host}]` : host}:${port}`;
  if (target.kind === "redis-cluster") return `${scheme}://${credentials}${target.seeds.map(host).join(",")}`;
  return `${scheme}://${credentials}${host(target.address)}/${target.db}`;
}

function userInfo(raw: string): { username: string | undefined; password: string | undefined } {
  const colon = raw.indexOf(":");
  const user = colon === -1 ? raw : raw.slice(0, colon);
  const pass = colon === -1 ? undefined : raw.slice(colon + 1);
  try {
    return {
      username: user === "" ? undefined : decodeURIComponent(user),
      password: pass === undefined || pass === "" ? undefined : decodeURIComponent(pass),
    };
  } catch {
    throw new RedisUrlError("user or password is not valid percent-encoding");
  }
}

function address(raw: string): RedisAddress {
  let host: string;
  let portText: string | undefined;
  if (raw.startsWith("[")) {
    const end = raw.indexOf("]");
    if (end === -1) throw new RedisUrlError(`host "${raw}": unterminated IPv6 address`);
    host = raw.slice(1, end);
    const after = raw.slice(end + 1);
    if (after !== "" && !after.startsWith(":")) throw new RedisUrlError(`host "${raw}": expected :port after the IPv6 address`);
    portText = after === "" ? undefined : after.slice(1);
  } else {
    const colon = raw.lastIndexOf(":");
    host = colon === -1 ? raw : raw.slice(0, colon);
    portText = colon === -1 ? undefined : raw.slice(colon + 1);
  }
  if (host === "" || /[\s/@]/.test(host)) throw new RedisUrlError(`host "${raw}" is not a host name or address`);
  if (portText === undefined) return { host, port: defaultPort };
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) throw new RedisUrlError(`port "${portText}" is not 1-65535`);
  return { host, port };
}
