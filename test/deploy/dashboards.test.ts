import { describe, expect, it } from "vitest";
import { dataPanels, loadDashboards, queryVariables, variableQuery } from "./dashboards.js";
import { readYaml, repoPath } from "./files.js";

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
    const node = dashboards.find((d) => d.file === "node-detail.json")!.dashboard;
    const variables = queryVariables(node);
    expect(variables.map((v) => v.name)).toEqual(["instance"]);
    expect(variableQuery(variables[0]!)).toBe("label_values(rocket_build_info, instance)");
    for (const p of dataPanels(node)) {
      for (const t of p.targets ?? []) expect(t.expr, p.title).toContain('instance="$instance"');
    }
  });
});
