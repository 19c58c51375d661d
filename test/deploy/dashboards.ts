import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { must } from "../harness/must.js";
import { dashboardsDir } from "./files.js";

export interface PanelTarget {
  readonly refId: string;
  readonly expr?: string;
  readonly datasource?: { type?: string; uid?: string };
}

export interface Panel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly description?: string;
  readonly datasource?: { type?: string; uid?: string };
  readonly fieldConfig?: { defaults?: { unit?: string; [key: string]: unknown }; overrides?: unknown[] };
  readonly targets?: PanelTarget[];
  /** Rows: the panels inside a collapsed row. */
  readonly panels?: Panel[];
}

export interface TemplateVariable {
  readonly name: string;
  readonly type: string;
  readonly query?: string | { query?: string };
  readonly definition?: string;
}

export interface Dashboard {
  readonly uid: string;
  readonly title: string;
  readonly panels: Panel[];
  readonly templating?: { list?: TemplateVariable[] };
}

/** Every dashboard JSON file of deploy/grafana/dashboards. */
export function loadDashboards(): { file: string; dashboard: Dashboard }[] {
  return readdirSync(dashboardsDir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((file) => ({ file, dashboard: JSON.parse(readFileSync(join(dashboardsDir, file), "utf8")) as Dashboard }));
}

/** The panels that show data (rows flattened away, collapsed rows opened). */
export function dataPanels(dashboard: Dashboard): Panel[] {
  const out: Panel[] = [];
  const walk = (panels: readonly Panel[]) => {
    for (const p of panels) {
      if (p.type === "row") walk(p.panels ?? []);
      else out.push(p);
    }
  };
  walk(dashboard.panels);
  return out;
}

/** The dashboard's query variables other than the datasource picker. */
export function queryVariables(dashboard: Dashboard): TemplateVariable[] {
  return (dashboard.templating?.list ?? []).filter((v) => v.type === "query");
}

/** The PromQL of a query variable (`label_values(...)`). */
export function variableQuery(v: TemplateVariable): string {
  const q = typeof v.query === "string" ? v.query : v.query?.query;
  return q ?? v.definition ?? "";
}

/**
 * Substitutes Grafana variables (`$name`, `${name}`, `[[name]]`) in a panel's PromQL, as
 * Grafana does before sending it. A variable missing from `values` is an error.
 */
export function substitute(expr: string, values: Readonly<Record<string, string>>): string {
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)/g, (_m, a?: string, b?: string, c?: string) => {
    const name = must(a ?? b ?? c);
    const value = values[name];
    if (value === undefined) throw new Error(`no value for Grafana variable $${name} in ${expr}`);
    return value;
  });
}
