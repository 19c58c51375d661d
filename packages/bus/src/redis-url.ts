/** One Redis server address. */
export interface RedisAddress {
  readonly host: string;
  readonly port: number;
}

/** What a Redis URL points at: one server, a Redis Cluster reached through seed nodes, or a master that Sentinels watch. */
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
    }
  | {
      readonly kind: "redis-sentinel";
      /** The Sentinels that are asked where the master is (any one that answers is enough). */
      readonly sentinels: readonly RedisAddress[];
      /** The master's name in the Sentinels' configuration (`sentinel monitor <name> …`). */
      readonly masterName: string;
      /** TLS to the Redis servers and to the Sentinels. */
      readonly tls: boolean;
      /** Credentials for the Redis servers and the Sentinels alike. */
      readonly username: string | undefined;
      readonly password: string | undefined;
      readonly db: number;
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
const defaultSentinelPort = 26379;
type Mode = "server" | "cluster" | "sentinel";
const schemes: Readonly<Record<string, { mode: Mode; tls: boolean }>> = {
  redis: { mode: "server", tls: false },
  rediss: { mode: "server", tls: true },
  "redis+cluster": { mode: "cluster", tls: false },
  "rediss+cluster": { mode: "cluster", tls: true },
  "redis+sentinel": { mode: "sentinel", tls: false },
  "rediss+sentinel": { mode: "sentinel", tls: true },
};
const schemeList = "redis://, rediss://, redis+cluster://, rediss+cluster://, redis+sentinel:// or rediss+sentinel://";

/**
 * Parses the URL forms Rocket accepts:
 * - `redis://[user:password@]host[:port][/db]`, `rediss://…` (TLS): one Redis server;
 * - `redis+cluster://[user:password@]host:port,host:port,…`, `rediss+cluster://…`: a Redis
 *   Cluster, given by one or more seed nodes (pub/sub is sharded: SSUBSCRIBE/SPUBLISH);
 * - `redis+sentinel://[user:password@]host[:port],host[:port],…/MASTER_NAME[/db]`,
 *   `rediss+sentinel://…`: the master named MASTER_NAME, found through the Sentinels listed
 *   (port 26379 by default), followed through their failovers.
 * A comma list under plain `redis://` is refused rather than guessed at, so a cluster is
 * always asked for explicitly. Query parameters are refused (none are supported).
 */
export function parseRedisUrl(url: string): RedisTarget {
  const [, schemeText, afterScheme] = /^([a-z+]+):\/\/(.*)$/i.exec(url.trim()) ?? [];
  if (schemeText === undefined || afterScheme === undefined) throw new RedisUrlError(`not a URL: expected ${schemeList}`);
  const schemeName = schemeText.toLowerCase();
  const scheme = schemes[schemeName];
  if (!scheme) throw new RedisUrlError(`unknown scheme "${schemeName}://": use ${schemeList}`);
  let rest = afterScheme;
  if (rest.includes("?") || rest.includes("#")) throw new RedisUrlError("query parameters and fragments are not supported");
  const slash = rest.indexOf("/", rest.lastIndexOf("@") + 1);
  const path = slash === -1 ? "" : rest.slice(slash + 1);
  rest = slash === -1 ? rest : rest.slice(0, slash);

  const at = rest.lastIndexOf("@");
  const { username, password } = at === -1 ? { username: undefined, password: undefined } : userInfo(rest.slice(0, at));
  const hostList = at === -1 ? rest : rest.slice(at + 1);
  if (hostList === "") throw new RedisUrlError("no host");
  const port = scheme.mode === "sentinel" ? defaultSentinelPort : defaultPort;
  const [first, ...others] = hostList.split(",").map((raw) => address(raw, port));
  if (first === undefined) throw new RedisUrlError("no host");
  const addresses = [first, ...others];

  if (scheme.mode === "sentinel") {
    const [name = "", db = "", ...more] = path.split("/");
    if (name === "") throw new RedisUrlError("no master name: redis+sentinel://host:port,host:port/MASTER_NAME");
    if (more.length > 0 || !/^\d{0,5}$/.test(db)) throw new RedisUrlError(`"${path}" is not MASTER_NAME or MASTER_NAME/db`);
    let masterName: string;
    try {
      masterName = decodeURIComponent(name);
    } catch {
      throw new RedisUrlError("the master name is not valid percent-encoding");
    }
    if (/\s/.test(masterName)) throw new RedisUrlError(`master name "${name}" has white space`);
    return {
      kind: "redis-sentinel",
      sentinels: addresses,
      masterName,
      tls: scheme.tls,
      username,
      password,
      db: db === "" ? 0 : Number(db),
    };
  }
  if (scheme.mode === "cluster") {
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
  const suffix = { redis: "", "redis-cluster": "+cluster", "redis-sentinel": "+sentinel" }[target.kind];
  const scheme = `${target.tls ? "rediss" : "redis"}${suffix}`;
  const user = target.username ?? "";
  const credentials = target.password !== undefined ? `${user}:***@` : user !== "" ? `${user}@` : "";
  const host = ({ host, port }: RedisAddress) => `${host.includes(":") ? `[${host}]` : host}:${port}`;
  switch (target.kind) {
    case "redis-cluster":
      return `${scheme}://${credentials}${target.seeds.map(host).join(",")}`;
    case "redis-sentinel":
      return `${scheme}://${credentials}${target.sentinels.map(host).join(",")}/${encodeURIComponent(target.masterName)}/${target.db}`;
    case "redis":
      return `${scheme}://${credentials}${host(target.address)}/${target.db}`;
  }
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

function address(raw: string, portByDefault: number): RedisAddress {
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
  if (portText === undefined) return { host, port: portByDefault };
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) throw new RedisUrlError(`port "${portText}" is not 1-65535`);
  return { host, port };
}
