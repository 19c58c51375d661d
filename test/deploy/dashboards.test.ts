import { describe, expect, it } from "vitest";
import { must } from "../harness/must.js";
import { dataPanels, loadDashboards, type Panel, queryVariables, variableQuery } from "./dashboards.js";
import { alertsYml, readYaml, repoPath } from "./files.js";

// What Grafana itself would need to show these dashboards; their PromQL is run against a real
// Prometheus in prometheus.int.test.ts.

const dashboards = loadDashboards();
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, meant literally.
const datasourceVariable = "${datasource}";
const datasourceUids = readYaml<{ datasources: { uid: string }[] }>(
  repoPath("deploy/grafana/provisioning/datasources/prometheus.yml"),
).datasources.map((d) => d.uid);

describe("Grafana dashboards", () => {
  it("are the cluster overview and the node detail, with distinct uids", () => {
    expect(dashboards.map((d) => d.file)).toEqual(["cluster-overview.json", "node-detail.json"]);
    expect(new Set(dashboards.map((d) => d.dashboard.uid)).size).toBe(dashboards.length);
  });

  for (const { file, dashboard } of dashboards) {
    describe(file, () => {
      const panels = dataPanels(dashboard);

      it("gives every panel a unit, a description and a query", () => {
        expect(panels.length).toBeGreaterThan(10);
        for (const p of panels) {
          const where = `${file}: "${p.title}"`;
          expect(p.fieldConfig?.defaults?.unit, `${where} has no unit`).toMatch(/\S/);
          expect(p.description, `${where} has no description`).toMatch(/\S{3}/);
          expect(p.targets?.length, `${where} has no query`).toBeGreaterThan(0);
          for (const t of p.targets ?? []) expect(t.expr, `${where} ${t.refId}`).toMatch(/\S/);
        }
      });

      it("has unique panel ids and titles", () => {
        const all = [...dashboard.panels, ...panels];
        expect(new Set(panels.map((p) => p.title)).size).toBe(panels.length);
        expect(new Set(all.map((p) => p.id)).size).toBe(new Set(all).size);
      });

      it("queries the provisioned Prometheus through the datasource variable", () => {
        const variable = dashboard.templating?.list?.find((v) => v.type === "datasource");
        expect(variable?.name).toBe("datasource");
        expect(datasourceUids).toContain((variable as unknown as { current: { value: string } }).current.value);
        for (const p of panels) {
          expect(p.datasource?.uid, p.title).toBe(datasourceVariable);
          for (const t of p.targets ?? []) expect(t.datasource?.uid ?? datasourceVariable, p.title).toBe(datasourceVariable);
        }
      });

      it("never groups or filters by channel or client", () => {
        for (const p of panels) {
          for (const t of p.targets ?? []) expect(t.expr, p.title).not.toMatch(/\b(channel|client|sid|session)\b/);
        }
      });
    });
  }

  it("templates the node detail by instance, in every query", () => {
    const node = must(dashboards.find((d) => d.file === "node-detail.json")).dashboard;
    const variables = queryVariables(node);
    expect(variables.map((v) => v.name)).toEqual(["instance"]);
    expect(variableQuery(must(variables[0]))).toBe("label_values(rocket_build_info, instance)");
    for (const p of dataPanels(node)) {
      for (const t of p.targets ?? []) expect(t.expr, p.title).toContain('instance="$instance"');
    }
  });

  it("colours the cluster's shares of gateways against the expected number: 1 of 3 is red", () => {
    const overview = must(dashboards.find((d) => d.file === "cluster-overview.json")).dashboard;
    const shares = dataPanels(overview).filter((p) =>
      (p.targets ?? []).some((t) => /\/ (on\(\) group_left\(\) )?count\(up\{job="rocket"\}\)/.test(t.expr ?? "")),
    );
    expect(shares.map((p) => p.title).sort()).toEqual(["Gateways in the load balancer", "Nodes ready", "Nodes up"]);
    for (const p of shares) {
      expect(p.fieldConfig?.defaults?.unit, p.title).toBe("percentunit");
      expect(thresholdColor(p, 1 / 3), p.title).toBe("red");
      expect(thresholdColor(p, 2 / 3), p.title).not.toBe("green");
      expect(thresholdColor(p, 1), p.title).toBe("green");
    }
  });

  it("has the panel every alert names, broken down by instance", () => {
    type Rules = { groups: { rules: { alert: string; annotations: { panel?: string } }[] }[] };
    const alerts = readYaml<Rules>(alertsYml).groups.flatMap((g) => g.rules);
    expect(alerts.length).toBeGreaterThan(20);
    for (const { alert, annotations } of alerts) {
      const m = /^(.+?): (.+)$/.exec(annotations.panel ?? "");
      expect(m, `${alert} names no panel ("Dashboard title: Panel title")`).not.toBeNull();
      const dashboard = dashboards.find((d) => d.dashboard.title === `Rocket / ${must(m)[1]}`)?.dashboard;
      expect(dashboard, `${alert}: no dashboard "Rocket / ${must(m)[1]}"`).toBeDefined();
      const panel = dataPanels(must(dashboard)).find((p) => p.title === must(m)[2]);
      expect(panel, `${alert}: no panel "${must(m)[2]}"`).toBeDefined();
      const byInstance = (must(panel).targets ?? []).some((t) => /\bby \([^)]*\binstance\b/.test(t.expr ?? ""));
      expect(byInstance, `${alert}: "${must(m)[2]}" does not break down by instance`).toBe(true);
    }
  });
});

/** The colour a stat or graph shows `value` in, from its absolute threshold steps. */
function thresholdColor(panel: Panel, value: number): string {
  const thresholds = panel.fieldConfig?.defaults?.thresholds as {
    mode: string;
    steps: { color: string; value: number | null }[];
  };
  expect(thresholds.mode).toBe("absolute");
  let color = "";
  for (const step of thresholds.steps) if (step.value === null || value >= step.value) color = step.color;
  return color;
}
