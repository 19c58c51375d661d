import { createMemoryBus, createMemoryRegistry } from "../src/index.js";
import { runBusContract } from "./bus-contract.js";

runBusContract("in-process", {
  multiNode: false,
  create: async () => ({ bus: createMemoryBus(), registry: createMemoryRegistry() }),
});
