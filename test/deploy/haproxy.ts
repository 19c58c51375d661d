import { readFileSync } from "node:fs";
import { freePort, type Proc, startProcess, until } from "../harness/index.js";
import { must } from "../harness/must.js";
import { haproxyCfg } from "./files.js";

/** One row of HAProxy's CSV statistics (the columns the tests read). */
export interface HaproxyStat {
  readonly proxy: string;
  readonly server: string;
  /** UP, DOWN, MAINT, "UP 1/2", "DOWN 1/2", OPEN (frontends), ... */
  readonly status: string;
  /** Sessions open now. */
  readonly current: number;
  /** Sessions since start. */
  readonly total: number;
}

export interface HaproxyProc {
  readonly proc: Proc;
  /** Client port (LB_BIND). */
  readonly port: number;
  /** Stats page and Prometheus exporter port (LB_STATS_BIND). */
  readonly statsPort: number;
  /** `ws://127.0.0.1:<port><path>` */
  url(path?: string): string;
  /** The rows of the `gateways` backend's servers, in the file's order. */
  servers(): Promise<HaproxyStat[]>;
  /** Polls `servers()` until `check` holds; the error shows the last rows and HAProxy's log. */
  waitForServers(check: (servers: HaproxyStat[]) => boolean, what: string, timeoutMs?: number): Promise<HaproxyStat[]>;
  stop(): Promise<void>;
}

/** The `GATEWAY_N` variables the server lines of haproxy.cfg read, in order. */
export function haproxyServerVariables(cfg = readFileSync(haproxyCfg, "utf8")): string[] {
  return [...cfg.matchAll(/^\s*server\s+\S+\s+"\$\{(GATEWAY_\d+)-[^}]*\}"/gm)].map((m) => must(m[1]));
}

/**
 * Starts /usr/sbin/haproxy in the foreground on deploy/haproxy/haproxy.cfg, unchanged: the
 * file reads its addresses from the environment, which is set here to 127.0.0.1 and free
 * ports, with `gateways` (host:port each) as its servers. Resolves once the stats page answers.
 */
export async function startHaproxy(gateways: readonly string[]): Promise<HaproxyProc> {
  const variables = haproxyServerVariables();
  if (variables.length !== gateways.length) {
    throw new Error(`haproxy.cfg has ${variables.length} servers; got ${gateways.length} gateways`);
  }
  const port = await freePort();
  const statsPort = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, LB_BIND: `127.0.0.1:${port}`, LB_STATS_BIND: `127.0.0.1:${statsPort}` };
  variables.forEach((name, i) => {
    env[name] = gateways[i];
  });
  const proc = startProcess("haproxy", ["-db", "-f", haproxyCfg], { env });
  let exited = false;
  void proc.exited.then(() => {
    exited = true;
  });
  const statsCsv = async (): Promise<string> => {
    const res = await fetch(`http://127.0.0.1:${statsPort}/;csv`);
    if (!res.ok) throw new Error(`haproxy stats: ${res.status}`);
    return res.text();
  };
  await until(
    async () => {
      if (exited) throw new Error(`haproxy exited:\n${proc.lines.join("\n")}`);
      return statsCsv().then(
        () => true,
        () => false,
      );
    },
    10_000,
    "haproxy's stats page",
  );
  const servers = async () => parseStats(await statsCsv()).filter((s) => s.proxy === "gateways" && s.server !== "BACKEND");
  return {
    proc,
    port,
    statsPort,
    url: (path = "/") => `ws://127.0.0.1:${port}${path}`,
    servers,
    async waitForServers(check, what, timeoutMs = 15_000) {
      let last: HaproxyStat[] = [];
      try {
        await until(
          async () => {
            last = await servers();
            return check(last);
          },
          timeoutMs,
          what,
          100,
        );
      } catch (err) {
        const rows = last.map((s) => `${s.server} ${s.status} current=${s.current} total=${s.total}`).join("\n");
        throw new Error(`${(err as Error).message}\n${rows}\n${proc.lines.slice(-15).join("\n")}`);
      }
      return last;
    },
    stop: () => proc.stop(),
  };
}

function parseStats(csv: string): HaproxyStat[] {
  const [header, ...rows] = csv.trim().split("\n");
  const columns = must(header).replace(/^# /, "").split(",");
  const at = (name: string) => columns.indexOf(name);
  return rows.map((row) => {
    const cells = row.split(",");
    return {
      proxy: must(cells[at("pxname")]),
      server: must(cells[at("svname")]),
      status: must(cells[at("status")]),
      current: Number(cells[at("scur")]),
      total: Number(cells[at("stot")]),
    };
  });
}
