import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";

/**
 * The relay's program, run by `node -e`: forwards every TCP connection on its port to
 * 127.0.0.1:<target>. Lines on stdin steer it: `freeze` stops reading from every socket,
 * open or opened meanwhile, and closes nothing, so no byte passes either way: a silent
 * partition. Unlike the harness's TCP proxy, whose blackhole reads and holds everything,
 * what is sent meanwhile waits in the kernel's buffers, as on a network, so Redis sees its
 * output buffer for the node grow and drops the connection past its limit, the way a long
 * partition costs a node messages. `thaw` lets bytes flow again.
 */
const program = `
const net = require("node:net");
const target = Number(process.env.RELAY_TARGET);
let frozen = false;
const sockets = new Set();
const server = net.createServer((client) => {
  const upstream = net.connect(target, "127.0.0.1");
  client.pipe(upstream);
  upstream.pipe(client);
  for (const s of [client, upstream]) {
    sockets.add(s);
    if (frozen) s.pause();
  }
  const end = () => {
    client.destroy();
    upstream.destroy();
    sockets.delete(client);
    sockets.delete(upstream);
  };
  for (const s of [client, upstream]) { s.on("error", end); s.on("close", end); }
});
server.listen(0, "127.0.0.1", () => console.log("relay listening " + server.address().port));
require("node:readline").createInterface({ input: process.stdin }).on("line", (line) => {
  if (line === "freeze" || line === "thaw") {
    frozen = line === "freeze";
    for (const s of sockets) { if (frozen) s.pause(); else s.resume(); }
    console.log("relay " + line);
  }
});
`;

/** A relay process started by a test. */
export interface Relay {
  readonly port: number;
  /** No byte passes any more, either way; every connection stays open. */
  freeze(): Promise<void>;
  /** Bytes held meanwhile flow again. */
  thaw(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRelay(target: number): Promise<Relay> {
  const child: ChildProcess = spawn(process.execPath, ["-e", program], {
    env: { ...process.env, RELAY_TARGET: String(target) },
    stdio: ["pipe", "pipe", "inherit"],
  });
  const waiters = new Set<(line: string) => void>();
  if (child.stdout === null || child.stdin === null) throw new Error("relay without pipes");
  createInterface({ input: child.stdout }).on("line", (line) => {
    for (const w of [...waiters]) w(line);
  });
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  const line = (match: RegExp) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`relay did not say ${match}`)), 10_000);
      const w = (l: string) => {
        if (!match.test(l)) return;
        clearTimeout(timer);
        waiters.delete(w);
        resolve(l);
      };
      waiters.add(w);
    });
  const port = Number((await line(/^relay listening \d+$/)).split(" ")[2]);
  const stdin = child.stdin;
  return {
    port,
    async freeze() {
      const said = line(/^relay freeze$/);
      stdin.write("freeze\n");
      await said;
    },
    async thaw() {
      const said = line(/^relay thaw$/);
      stdin.write("thaw\n");
      await said;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGKILL");
      await exited;
    },
  };
}
