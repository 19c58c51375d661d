import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createMetrics } from "../../apps/gateway/src/metrics.js";
import { must } from "../harness/must.js";
import { alertsYml, readYaml, repoPath } from "./files.js";

// docs/operations.md against what it documents, mechanically: the metric tables against the
// metrics the gateway declares, the alert table against the rules.

const operations = readFileSync(repoPath("docs/operations.md"), "utf8");

/** The text of the `## title` section of docs/operations.md. */
function section(title: string): string {
  const m = new RegExp(`^## ${title}\\n([\\s\\S]*?)(?=^## )`, "m").exec(operations);
  if (!m) throw new Error(`docs/operations.md has no section "${title}"`);
  return must(m[1]);
}

/** The first cell (in backticks) and the second cell of every table row of `text`. */
function rows(text: string): [string, string][] {
  return [...text.matchAll(/^\| `([^`]+)` \| ([^|]*) \|/gm)].map((m) => [must(m[1]), must(m[2]).trim()]);
}

describe("docs/operations.md", () => {
  it("has a row in its metric tables for every rocket_ metric metrics.ts declares, of its type, and no other", async () => {
    const metrics = createMetrics({ version: "0.0.0", redis: true });
    const text = await metrics.scrape();
    const declared = [...text.matchAll(/^# TYPE (rocket_\w+) (\w+)$/gm)].map((m) => [must(m[1]), must(m[2])]);
    expect(declared.length).toBeGreaterThan(15);
    const documented = rows(section("Metrics")).filter(([name]) => name.startsWith("rocket_"));
    expect(documented.sort()).toEqual(declared.sort());
  });

  it("has a row in its alert table for every alert of alerts.yml, in the same order, and no other", () => {
    type Rules = { groups: { rules: { alert: string }[] }[] };
    const alerts = readYaml<Rules>(alertsYml).groups.flatMap((g) => g.rules.map((r) => r.alert));
    const documented = rows(section("Alerts")).map(([name]) => name);
    expect(documented).toEqual(alerts);
  });
});
