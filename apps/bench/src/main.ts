import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { loadavg } from "node:os";
import { loadNativeUws, mintToken } from "@rocket/gateway";
import { startBaseline } from "./baseline-server.js";
import { parseCli } from "./cli.js";
import { compare } from "./compare.js";
import { machineInfo } from "./machine.js";
import { createProgress } from "./progress.js";
import { formatRuns } from "./report.js";
import type { RunResult } from "./results.js";
import { formatRounds, type RoundsSummary, summarizeRounds } from "./rounds.js";
import { runPlan } from "./runner.js";
import { planScenario } from "./scenarios/index.js";

const version = (createRequire(import.meta.url)("../package.json") as { version: string }).version;

/** The composition root: the only place that reads argv, the environment, signals and the terminal. */
async function main(): Promise<void> {
  const request = parseCli(process.argv, version, process.env);
  if (request.command === "baseline") {
    const server = await startBaseline(loadNativeUws(), request);
    process.stdout.write(`${JSON.stringify({ msg: "listening", port: server.port, redis: request.redisUrl ?? null })}\n`);
    const stop = () => {
      server.close();
      process.exit(0);
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
    return;
  }

  if (request.loadCpus) {
    // every thread of this process, so worker threads created later inherit it too
    execFileSync("taskset", ["-a", "-p", "-c", request.loadCpus, String(process.pid)], { stdio: "ignore" });
  }
  const progress = createProgress(process.stderr, request.progress);
  // servers this run started are stopped on Ctrl-C or SIGTERM too, never left behind
  const running = new Set<() => Promise<void>>();
  const interrupted = (signal: string) => {
    process.stderr.write(`\nrocket-bench: ${signal}, stopping the servers it started\n`);
    void Promise.allSettled([...running].map((stop) => stop())).then(() => process.exit(130));
  };
  process.once("SIGINT", () => interrupted("SIGINT"));
  process.once("SIGTERM", () => interrupted("SIGTERM"));
  const track = (stop: () => Promise<void>) => {
    running.add(stop);
    return () => void running.delete(stop);
  };
  // One token for every connection: subscribe and publish everywhere, valid for the day.
  const token =
    request.tokenSecret === undefined
      ? undefined
      : await mintToken({ sub: "rocket-bench", cap: { "*": ["subscribe", "publish"] }, ttlSeconds: 86400 }, request.tokenSecret);
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  let runs: RunResult[];
  if (request.compare) {
    runs = await compare(
      {
        scenario: request.scenario,
        load: request.load,
        rocketBin: request.rocketBin,
        hub: request.hub,
        rounds: request.rounds,
        withRedis: request.withRedis,
        serverCpus: request.serverCpus,
        historySize: request.historySize,
        httpPublish: request.httpPublish,
        tokenSecret: request.tokenSecret,
        token,
        track,
      },
      progress,
    );
  } else {
    const hub = request.hub.startsWith("/") ? request.hub : `/${request.hub}`;
    const urls = request.urls.map((u) => new URL(hub, u).toString());
    const plan = planScenario(request.scenario, request.load, urls);
    const target = {
      label: request.label,
      urls,
      serverPids: request.serverPids,
      redisPid: request.redisPid,
      secret: request.secret,
      readSecret: request.readSecret,
      token,
      httpPublish:
        request.httpPublish && request.apiKey !== undefined ? { url: request.apiUrl, apiKey: request.apiKey } : undefined,
    };
    runs = [await runPlan(request.scenario, plan, request.load, target, progress)];
  }
  let rounds: RoundsSummary[] | undefined;
  if (request.compare && request.rounds > 1) {
    for (let i = 0; i + 1 < runs.length; i += 2) {
      process.stdout.write(`round ${i / 2 + 1} of ${request.rounds}\n${formatRuns(runs.slice(i, i + 2))}\n\n`);
    }
    rounds = summarizeRounds(runs);
    process.stdout.write(`${formatRounds(rounds)}\n`);
  } else {
    process.stdout.write(`${formatRuns(runs)}\n`);
  }
  process.stdout.write(
    `load average before ${machine.loadAverage.join(" ")}, after ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}\n`,
  );
  if (request.jsonFile) {
    const report = {
      tool: "rocket-bench",
      version,
      startedAt,
      finishedAt: new Date().toISOString(),
      command: process.argv.slice(2),
      machine,
      loadAverageAfter: loadavg(),
      scenario: request.scenario,
      options: request.load,
      runs,
      rounds,
    };
    writeFileSync(request.jsonFile, `${JSON.stringify(report, null, 2)}\n`);
  }
  if (runs.some((r) => r.error !== undefined)) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`rocket-bench: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
