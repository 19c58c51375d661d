export { type Delivery, type Reply, TestClient } from "./client.js";
export { type GatewayOptions, type GatewayProc, rocketBin, startGateway } from "./gateway.js";
export { freePort, until } from "./ports.js";
export { type Proc, Resources, startProcess } from "./process.js";
export { findProgram, MissingProgramError, requireProgram } from "./programs.js";
export {
  closePayload,
  describeFrame,
  type Ending,
  encodeFrame,
  type FrameSpec,
  Opcode,
  type RawConnectOptions,
  RawWebSocket,
  type ServerFrame,
} from "./raw-websocket.js";
export { type RedisProc, redisCli, startRedis } from "./redis.js";
export { type RedisClusterProc, startRedisCluster } from "./redis-cluster.js";
export { type RedisSentinelProc, type SentinelProc, startRedisSentinel } from "./redis-sentinel.js";
export { startTcpProxy, type TcpProxy } from "./tcp-proxy.js";
