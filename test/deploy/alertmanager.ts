import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, type Proc, startProcess, until } from "../harness/index.js";
import { alertmanagerYml } from "./files.js";

export interface AlertmanagerAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  status: { state: string; inhibitedBy: string[]; silencedBy: string[] };
}

export interface AlertmanagerProc {
  readonly proc: Proc;
  /** `127.0.0.1:<port>`, as Prometheus's `alerting` section names it. */
  readonly target: string;
  /** The alerts it holds now (GET /api/v2/alerts). */
  alerts(): Promise<AlertmanagerAlert[]>;
  stop(): Promise<void>;
}

/**
 * Starts Debian's prometheus-alertmanager on deploy/alertmanager/alertmanager.yml, unchanged,
 * on 127.0.0.1, a free port and a temporary data directory, without clustering.
 */
export async function startAlertmanager(): Promise<AlertmanagerProc> {
  const dir = mkdtempSync(join(tmpdir(), "rocket-alertmanager-"));
  const port = await freePort();
  const target = `127.0.0.1:${port}`;
  const proc = startProcess("prometheus-alertmanager", [
    `--config.file=${alertmanagerYml}`,
    `--storage.path=${dir}`,
    `--web.listen-address=${target}`,
    "--cluster.listen-address=",
  ]);
  const stop = async () => {
    await proc.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  let exited = false;
  void proc.exited.then(() => {
    exited = true;
  });
  try {
    await until(
      async () => {
        if (exited) throw new Error(`prometheus-alertmanager exited:\n${proc.lines.join("\n")}`);
        return fetch(`http://${target}/-/ready`).then(
          (res) => res.ok,
          () => false,
        );
      },
      15_000,
      "alertmanager ready",
      50,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    proc,
    target,
    async alerts() {
      const res = await fetch(`http://${target}/api/v2/alerts`);
      if (!res.ok) throw new Error(`alertmanager /api/v2/alerts: ${res.status}`);
      return (await res.json()) as AlertmanagerAlert[];
    },
    stop,
  };
}
