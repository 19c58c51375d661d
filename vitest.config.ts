import { defineConfig } from "vitest/config";

/** Tests with timing bounds under fault injection (Redis killed, connections cut): run alone. */
const chaos = [
  "test/cluster/outage.int.test.ts",
  "test/cluster/canary.int.test.ts",
  "packages/bus/test/redis-outage.test.ts",
  "packages/bus/test/redis-canary.test.ts",
  "test/faults/redis-hung.int.test.ts",
  "test/faults/cluster-failover.int.test.ts",
  "test/faults/outage-commands.int.test.ts",
  "test/faults/silent-subscription.int.test.ts",
  "test/faults/sentinel-failover.int.test.ts",
  "test/faults/partition.int.test.ts",
  "test/gateway/drain.int.test.ts",
  "test/history/node-gaps.int.test.ts",
  "test/history/rolling-restart.int.test.ts",
  "test/history/redis-cluster.int.test.ts",
];

/** Tests that keep both cores busy for seconds (hostile input at full speed): run alone, last, so they slow no timing-bound test. */
const heavy = ["test/hostile/fuzz.int.test.ts"];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests start real processes on a 2-core machine: keep parallelism modest.
    pool: "forks",
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    reporters: ["default", "./test/summary-reporter.ts"],
    projects: [
      {
        extends: true,
        test: {
          name: "main",
          include: [
            "packages/*/src/**/*.test.ts",
            "packages/*/test/**/*.test.ts",
            "apps/*/src/**/*.test.ts",
            "apps/*/test/**/*.test.ts",
            "test/**/*.test.ts",
          ],
          exclude: ["**/node_modules/**", "**/dist/**", ...chaos, ...heavy],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: "chaos",
          include: chaos,
          // One file at a time, after everything else, so no other test competes for the CPU.
          poolOptions: { forks: { singleFork: true } },
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          name: "heavy",
          include: heavy,
          poolOptions: { forks: { singleFork: true } },
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
