import type { LoadOptions, ScenarioName } from "../options.js";
import type { Plan } from "../plan.js";
import { planChannels } from "./channels.js";
import { planChurn } from "./churn.js";
import { planConnections } from "./connections.js";
import { planCross } from "./cross.js";
import { planFanout } from "./fanout.js";

/** The load plan of a scenario against the given server URLs. */
export function planScenario(scenario: ScenarioName, options: LoadOptions, urls: readonly string[]): Plan {
  switch (scenario) {
    case "fanout":
      return planFanout(options, urls);
    case "channels":
      return planChannels(options, urls);
    case "connections":
      return planConnections(options, urls);
    case "cross":
      return planCross(options, urls);
    case "churn":
      return planChurn(options, urls);
  }
}

/** How many servers a scenario runs against (cross: two nodes of one cluster). */
export function serversNeeded(scenario: ScenarioName): number {
  return scenario === "cross" ? 2 : 1;
}
