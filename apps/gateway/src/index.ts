export { type Config, ConfigError, type HubConfig, loadConfig } from "./config.js";
export { createGateway, type Gateway, type GatewayDeps } from "./gateway.js";
export { createMetrics, type Metrics } from "./metrics.js";
export { Session, type SessionSocket } from "./session.js";
