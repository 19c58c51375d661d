import { existsSync, readdirSync, readFileSync } from "node:fs";
import { parseRedisUrl } from "@rocket/bus";
import { beforeAll, describe, expect, it } from "vitest";
import { markdownTable } from "../harness/markdown.js";
import { alertsYml, dashboardsDir, readYaml, repoPath } from "./files.js";
import { hasModel, schemaErrors, unknownFields } from "./k8s-schema.js";
import {
  type Container,
  type K8sObject,
  type PodSpec,
  parseEnvFile,
  podSpec,
  renderKustomization,
  splitImage,
} from "./kustomize.js";

// There is no cluster here: every overlay of deploy/k8s is rendered as `kubectl apply -k`
// would render it (./kustomize.ts), each object is checked against the Kubernetes schema of
// its kind (./k8s-schema.ts), and the facts that tie the objects to each other and to the
// gateway are asserted one by one.

const k8sDir = repoPath("deploy/k8s");
const overlays = readdirSync(repoPath("deploy/k8s/overlays"));
const productionSecrets = repoPath("deploy/k8s/overlays/production/secrets.env");

/** secrets.env is written by the operator and ignored by git; its example has the same keys. */
function readFile(path: string): string {
  return readFileSync(path === productionSecrets && !existsSync(path) ? `${path}.example` : path, "utf8");
}

/** The ROCKET_* variables the gateway reads: the "environment" column of README's configuration table. */
function gatewayEnvVars(): Set<string> {
  const readme = readFileSync(repoPath("README.md"), "utf8");
  const section = readme.slice(
    readme.indexOf("\n## Configuration"),
    readme.indexOf("\n## ", readme.indexOf("\n## Configuration") + 1),
  );
  // The third column of the configuration table is the environment one.
  const names = markdownTable(section, /^\| file key \| flag \| environment \|/).flatMap((row) =>
    [...(row[2] ?? "").matchAll(/`(ROCKET_[A-Z0-9_]+)`/g)].map((m) => m[1] ?? ""),
  );
  return new Set(names);
}

/** A pod's `sleep N` preStop, in seconds (0 without one). */
function preStopSleepSeconds(container: Container): number {
  const lifecycle = container.lifecycle as
    | { preStop?: { exec?: { command?: string[] }; sleep?: { seconds: number } } }
    | undefined;
  const preStop = lifecycle?.preStop;
  if (!preStop) return 0;
  if (preStop.sleep) return preStop.sleep.seconds;
  const command = preStop.exec?.command ?? [];
  if (command[0] !== "sleep" || command.length !== 2) throw new Error(`unexpected preStop ${JSON.stringify(preStop)}`);
  return Number(command[1]);
}

interface Probe {
  httpGet?: { path: string; port: string | number };
  periodSeconds?: number;
  failureThreshold?: number;
}

function matchesLabels(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  return (
    selector !== undefined && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v)
  );
}

/** The Pod Security Standard "restricted" profile, the parts a pod template can break. */
function restrictedViolations(pod: PodSpec): string[] {
  const problems: string[] = [];
  const podContext = (pod.securityContext ?? {}) as {
    runAsNonRoot?: boolean;
    runAsUser?: number;
    seccompProfile?: { type: string };
  };
  for (const key of ["hostNetwork", "hostPID", "hostIPC"]) if (pod[key] === true) problems.push(key);
  for (const volume of pod.volumes ?? []) {
    const type = Object.keys(volume).find((k) => k !== "name");
    const allowed = ["configMap", "secret", "emptyDir", "projected", "downwardAPI", "persistentVolumeClaim", "ephemeral", "csi"];
    if (type && !allowed.includes(type)) problems.push(`volume type ${type}`);
  }
  for (const container of [...pod.containers, ...(pod.initContainers ?? [])]) {
    const c = (container.securityContext ?? {}) as {
      runAsNonRoot?: boolean;
      runAsUser?: number;
      privileged?: boolean;
      allowPrivilegeEscalation?: boolean;
      capabilities?: { drop?: string[]; add?: string[] };
      seccompProfile?: { type: string };
    };
    const where = `container ${container.name}`;
    if ((c.runAsNonRoot ?? podContext.runAsNonRoot) !== true) problems.push(`${where}: runAsNonRoot`);
    if ((c.runAsUser ?? podContext.runAsUser) === 0) problems.push(`${where}: runAsUser 0`);
    if (c.privileged === true) problems.push(`${where}: privileged`);
    if (c.allowPrivilegeEscalation !== false) problems.push(`${where}: allowPrivilegeEscalation`);
    if (!c.capabilities?.drop?.includes("ALL")) problems.push(`${where}: capabilities.drop ALL`);
    if ((c.capabilities?.add ?? []).some((cap) => cap !== "NET_BIND_SERVICE")) problems.push(`${where}: capabilities.add`);
    const seccomp = (c.seccompProfile ?? podContext.seccompProfile)?.type;
    if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost") problems.push(`${where}: seccompProfile`);
  }
  return problems;
}

describe.each(overlays)("deploy/k8s/overlays/%s", (overlay) => {
  let objects: K8sObject[];
  const one = <T extends K8sObject = K8sObject>(kind: string, name: string): T => {
    const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
    expect(found, `${kind}/${name}`).toHaveLength(1);
    return found[0] as T;
  };
  const generated = (kind: string, name: string): K8sObject => {
    const found = objects.filter((o) => o.kind === kind && o.metadata.name.startsWith(`${name}-`));
    expect(found, `${kind} ${name}-<hash>`).toHaveLength(1);
    return found[0] as K8sObject;
  };
  /** What a ConfigMap or Secret holds, decoded. */
  const dataOf = (object: K8sObject): Record<string, string> => {
    const data = (object.data ?? {}) as Record<string, string>;
    if (object.kind !== "Secret") return data;
    return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, "base64").toString()]));
  };
  const byName = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);

  let deployment: K8sObject;
  let pod: PodSpec;
  let gateway: Container;
  /** The gateway container's environment: envFrom first, env over it (as the kubelet builds it). */
  let env: Map<string, string>;

  beforeAll(() => {
    objects = renderKustomization(repoPath(`deploy/k8s/overlays/${overlay}`), { readFile });
    deployment = one("Deployment", "rocket");
    const spec = podSpec(deployment);
    if (!spec) throw new Error("the Deployment has no pod template");
    pod = spec;
    const container = pod.containers.find((c) => c.name === "gateway");
    if (!container) throw new Error("no container named gateway");
    gateway = container;
    env = new Map();
    for (const from of gateway.envFrom ?? []) {
      const ref = from.configMapRef ?? from.secretRef;
      const source = ref && byName(from.configMapRef ? "ConfigMap" : "Secret", ref.name);
      expect(source, `envFrom ${JSON.stringify(from)} names an object of the overlay`).toBeDefined();
      for (const [k, v] of Object.entries(dataOf(source as K8sObject))) env.set(k, v);
    }
    for (const { name, value, valueFrom } of gateway.env ?? []) {
      const ref = valueFrom?.secretKeyRef ?? valueFrom?.configMapKeyRef;
      const source = ref && byName(valueFrom?.secretKeyRef ? "Secret" : "ConfigMap", ref.name);
      env.set(name, ref ? (source ? (dataOf(source)[ref.key] ?? "") : "") : (value ?? ""));
    }
  });

  it("holds each object once, every one of a kind with a Kubernetes schema", async () => {
    const ids = objects.map((o) => `${o.apiVersion} ${o.kind} ${o.metadata.name}`);
    expect(new Set(ids).size).toBe(ids.length);
    const without: string[] = [];
    for (const object of objects) if (!(await hasModel(object))) without.push(`${object.apiVersion} ${object.kind}`);
    expect(without).toEqual([]);
  });

  it("is valid against the Kubernetes schemas (the ServiceMonitor against its CRD's)", async () => {
    const errors: Record<string, string[]> = {};
    for (const object of objects) {
      const found = await schemaErrors(object);
      if (found.length > 0) errors[`${object.kind}/${object.metadata.name}`] = found;
    }
    expect(errors).toEqual({});
  });

  it("uses no field the schemas do not know (kubectl's strict field validation)", () => {
    const found = unknownFields(objects);
    const errors = Object.fromEntries(
      objects.flatMap((o, i) => ((found[i] ?? []).length > 0 ? [[`${o.kind}/${o.metadata.name}`, found[i]]] : [])),
    );
    expect(errors).toEqual({});
  });

  it("puts everything in its own namespace, which it creates with the restricted pod security level", () => {
    const namespaces = objects.filter((o) => o.kind === "Namespace");
    expect(namespaces).toHaveLength(1);
    const namespace = namespaces[0] as K8sObject;
    expect(objects.filter((o) => o.kind !== "Namespace" && o.metadata.namespace !== namespace.metadata.name)).toEqual([]);
    expect(namespace.metadata.labels?.["pod-security.kubernetes.io/enforce"]).toBe("restricted");
    for (const object of objects) {
      const spec = podSpec(object);
      if (spec) expect(restrictedViolations(spec), `${object.kind}/${object.metadata.name}`).toEqual([]);
    }
  });

  it("sets only environment variables the gateway reads", () => {
    const known = gatewayEnvVars();
    expect(known.size).toBeGreaterThan(5);
    expect([...env.keys()].filter((name) => !known.has(name))).toEqual([]);
  });

  it("takes ROCKET_SECRET, ROCKET_TOKEN_SECRET and ROCKET_REDIS_URL from keys that exist in the overlay's Secret", () => {
    const refs = (gateway.env ?? []).flatMap(({ valueFrom }) => (valueFrom?.secretKeyRef ? [valueFrom.secretKeyRef] : []));
    expect(refs.map((r) => r.key).sort()).toEqual(["ROCKET_REDIS_URL", "ROCKET_SECRET", "ROCKET_TOKEN_SECRET"]);
    for (const ref of refs) {
      const secret = byName("Secret", ref.name);
      expect(secret, `Secret ${ref.name}`).toBeDefined();
      expect(Object.keys(dataOf(secret as K8sObject))).toContain(ref.key);
    }
    // Several pods: each must share the default hub's secret (else each generates its own)
    // and the Redis that joins them into one cluster.
    expect(env.get("ROCKET_SECRET")).toMatch(/\S/);
    expect(env.get("ROCKET_TOKEN_SECRET")).toMatch(/\S/);
    expect(() => parseRedisUrl(env.get("ROCKET_REDIS_URL") ?? "")).not.toThrow();
  });

  it("rolls the pods when the configuration or the secrets change: generated names carry a content hash", () => {
    const config = generated("ConfigMap", "rocket-config");
    const secret = generated("Secret", "rocket-secrets");
    expect((gateway.envFrom ?? []).map((from) => from.configMapRef?.name)).toEqual([config.metadata.name]);
    const secretNames = (gateway.env ?? []).flatMap(({ valueFrom }) =>
      valueFrom?.secretKeyRef ? [valueFrom.secretKeyRef.name] : [],
    );
    expect(new Set(secretNames)).toEqual(new Set([secret.metadata.name]));
  });

  it("disables service links, which would inject ROCKET_PORT=tcp://… for the Service named rocket", () => {
    expect(pod.enableServiceLinks).toBe(false);
  });

  it("listens where its ports, probes and Services say", () => {
    const ports = (gateway.ports ?? []) as { name: string; containerPort: number }[];
    const port = (name: string) => ports.find((p) => p.name === name)?.containerPort;
    expect(env.get("ROCKET_HOST") ?? "0.0.0.0").toBe("0.0.0.0");
    expect(port("http")).toBe(Number(env.get("ROCKET_PORT") ?? 9772));
    expect(port("metrics")).toBe(Number(env.get("ROCKET_METRICS_PORT")));

    const readiness = gateway.readinessProbe as Probe;
    const liveness = gateway.livenessProbe as Probe;
    expect(readiness.httpGet).toEqual({ path: "/readyz", port: "metrics" });
    expect(liveness.httpGet).toEqual({ path: "/healthz", port: "metrics" });

    const labels = (deployment.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels;
    for (const service of objects.filter((o) => o.kind === "Service" && o.metadata.name.startsWith("rocket"))) {
      const spec = service.spec as { selector: Record<string, string>; ports: { targetPort: string | number }[] };
      expect(matchesLabels(spec.selector, labels), `Service ${service.metadata.name} selects the gateways`).toBe(true);
      for (const { targetPort } of spec.ports) expect(ports.map((p) => p.name)).toContain(targetPort);
    }
    expect((one("Service", "rocket").spec as { ports: { targetPort: string }[] }).ports.map((p) => p.targetPort)).toEqual([
      "http",
    ]);
    expect((one("Service", "rocket-metrics").spec as { ports: { targetPort: string }[] }).ports.map((p) => p.targetPort)).toEqual(
      ["metrics"],
    );
  });

  it("gives the drain time to finish before SIGKILL, and no liveness failure during it", () => {
    const drainSeconds = Number(env.get("ROCKET_DRAIN_TIMEOUT_MS")) / 1000;
    expect(drainSeconds).toBeGreaterThan(0);
    // The gateway exits by itself at the latest drain + 5 s after SIGTERM; SIGTERM comes after
    // the preStop sleep, and the grace period counts from before it.
    const preStop = preStopSleepSeconds(gateway);
    expect(preStop).toBeGreaterThanOrEqual(2);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(preStop + drainSeconds + 5);
    // The listening sockets, /healthz's too, close at SIGTERM: the liveness probe must not
    // reach its failure threshold before the process has exited.
    const liveness = gateway.livenessProbe as Required<Pick<Probe, "periodSeconds" | "failureThreshold">>;
    expect((liveness.failureThreshold - 1) * liveness.periodSeconds).toBeGreaterThan(drainSeconds + 5);
  });

  it("requests CPU and memory, caps memory, and runs a tagged image", () => {
    const resources = gateway.resources as { requests?: Record<string, string>; limits?: Record<string, string> };
    expect(resources.requests?.cpu).toBeDefined();
    expect(resources.requests?.memory).toBeDefined();
    expect(resources.limits?.memory).toBeDefined();
    const [, tag] = splitImage(gateway.image);
    expect(tag).toBeDefined();
    expect(tag).not.toBe("latest");
  });

  it("spreads the gateways over nodes with an anti-affinity that selects them", () => {
    const labels = (deployment.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels;
    const affinity = pod.affinity as {
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: {
          podAffinityTerm: { topologyKey: string; labelSelector: { matchLabels: Record<string, string> } };
        }[];
      };
    };
    const terms = affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution;
    expect(terms.map((t) => t.podAffinityTerm.topologyKey)).toContain("kubernetes.io/hostname");
    for (const { podAffinityTerm } of terms) expect(matchesLabels(podAffinityTerm.labelSelector.matchLabels, labels)).toBe(true);
  });

  it("has a disruption budget and an autoscaler over the gateway Deployment", () => {
    const spec = deployment.spec as {
      replicas?: number;
      selector: { matchLabels: Record<string, string> };
      template: { metadata: { labels: Record<string, string> } };
    };
    const pdb = one("PodDisruptionBudget", "rocket").spec as {
      selector: { matchLabels: Record<string, string> };
      maxUnavailable: number;
    };
    expect(pdb.selector.matchLabels).toEqual(spec.selector.matchLabels);
    expect(matchesLabels(pdb.selector.matchLabels, spec.template.metadata.labels)).toBe(true);

    const hpa = one("HorizontalPodAutoscaler", "rocket").spec as {
      scaleTargetRef: { apiVersion: string; kind: string; name: string };
      minReplicas: number;
      maxReplicas: number;
      metrics: { type: string; resource?: { name: string } }[];
    };
    expect(hpa.scaleTargetRef).toEqual({ apiVersion: deployment.apiVersion, kind: "Deployment", name: deployment.metadata.name });
    // The autoscaler owns the replica count: a count in the Deployment would reset it at every apply.
    expect(spec.replicas).toBeUndefined();
    expect(hpa.minReplicas).toBeGreaterThan(pdb.maxUnavailable);
    expect(hpa.maxReplicas).toBeGreaterThanOrEqual(hpa.minReplicas);
    expect(hpa.metrics.filter((m) => m.type === "Resource").map((m) => m.resource?.name)).toEqual(["cpu"]);
  });

  it("scrapes each gateway as job rocket, the job the alerts and dashboards query (when monitored)", () => {
    const monitors = objects.filter((o) => o.kind === "ServiceMonitor");
    if (overlay === "production") expect(monitors).toHaveLength(1);
    for (const monitor of monitors) {
      const spec = monitor.spec as {
        jobLabel: string;
        selector: { matchLabels: Record<string, string> };
        endpoints: { port: string; path: string }[];
      };
      const services = objects.filter((o) => o.kind === "Service" && matchesLabels(spec.selector.matchLabels, o.metadata.labels));
      expect(services.map((s) => s.metadata.name)).toEqual(["rocket-metrics"]);
      const service = services[0] as K8sObject;
      expect(spec.endpoints).toEqual([expect.objectContaining({ port: "metrics", path: "/metrics" })]);
      expect(service.metadata.labels?.[spec.jobLabel]).toBe("rocket");
    }
    const jobs = new Set<string>();
    const queried = [alertsYml, ...readdirSync(dashboardsDir).map((f) => `${dashboardsDir}/${f}`)]
      .map((f) => readFileSync(f, "utf8"))
      .join("\n");
    for (const m of queried.matchAll(/job\s*=\s*\\?"([^"\\]+)\\?"/g)) jobs.add(m[1] ?? "");
    // Other jobs (the load balancer's, Redis's exporter) may be queried too; the gateways' is rocket.
    expect([...jobs]).toContain("rocket");
  });

  it("scales on connections per pod with the metric prometheus-adapter serves (when monitored)", () => {
    const hpa = one("HorizontalPodAutoscaler", "rocket").spec as {
      metrics: { type: string; pods?: { metric: { name: string }; target: { type: string; averageValue: string } } }[];
    };
    const pods = hpa.metrics.filter((m) => m.type === "Pods");
    expect(pods.length).toBe(objects.some((o) => o.kind === "ServiceMonitor") ? 1 : 0);
    const adapter = readYaml<{
      rules: { default: boolean; custom: { seriesQuery: string; name: { as: string }; resources: { overrides: object } }[] };
    }>(repoPath("deploy/k8s/helm-values/prometheus-adapter.yaml"));
    const served = adapter.rules.custom.map((rule) => rule.name.as);
    const metricsSource = readFileSync(repoPath("apps/gateway/src/metrics.ts"), "utf8");
    for (const { pods: metric } of pods) {
      expect(served).toContain(metric?.metric.name);
      expect(metric?.target.type).toBe("AverageValue");
      const rule = adapter.rules.custom.find((r) => r.name.as === metric?.metric.name);
      const series = /^([a-z_:]+)\{/.exec(rule?.seriesQuery ?? "")?.[1];
      expect(metricsSource, `the gateway declares ${series}`).toContain(`"${series}"`);
      expect(rule?.resources.overrides).toEqual({ namespace: { resource: "namespace" }, pod: { resource: "pod" } });
      // Pods reach the scaling target well before they refuse connections (HTTP 503 past MaxConnections).
      expect(Number(metric?.target.averageValue) * 2).toBeLessThanOrEqual(Number(env.get("ROCKET_MAX_CONNECTIONS")));
    }
  });

  it("routes its Ingress (if any) to the clients' Service", () => {
    for (const ingress of objects.filter((o) => o.kind === "Ingress")) {
      const rules = (
        ingress.spec as { rules: { http: { paths: { backend: { service: { name: string; port: { name: string } } } }[] } }[] }
      ).rules;
      for (const { backend } of rules.flatMap((r) => r.http.paths)) {
        const service = one("Service", backend.service.name);
        const ports = (service.spec as { ports: { name: string }[] }).ports.map((p) => p.name);
        expect(ports).toContain(backend.service.port.name);
        expect(service.metadata.name).toBe("rocket");
      }
    }
  });
});

describe("deploy/k8s", () => {
  it("keeps the production secrets out of git, with an example of every key", () => {
    expect(readFileSync(repoPath("deploy/k8s/overlays/production/.gitignore"), "utf8").split("\n")).toContain("secrets.env");
    const example = parseEnvFile(readFileSync(`${productionSecrets}.example`, "utf8"), "secrets.env.example");
    expect(Object.keys(example).sort()).toEqual(["ROCKET_REDIS_URL", "ROCKET_SECRET", "ROCKET_TOKEN_SECRET"]);
    expect(parseRedisUrl(example.ROCKET_REDIS_URL ?? "").kind).toBe("redis-cluster");
  });

  it("has overlays to check", () => {
    expect(overlays.sort()).toEqual(["dev", "production"]);
    expect(existsSync(`${k8sDir}/base/kustomization.yaml`)).toBe(true);
  });
});

describe("docs/kubernetes.md's configuration-file example", () => {
  // The example's overlay exists only in memory: its kustomization is the production overlay
  // plus the YAML block the docs show; rocket.json is a stand-in.
  const dir = repoPath("deploy/k8s/overlays/config-file-example");
  const docs = readFileSync(repoPath("docs/kubernetes.md"), "utf8");
  const after = docs.slice(docs.indexOf("**Hubs with their own paths"));
  const block = /```yaml\n([\s\S]*?)```/.exec(after)?.[1] ?? "";
  const virtual = new Map([
    [
      `${dir}/kustomization.yaml`,
      `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../production\n${block}`,
    ],
    [`${dir}/rocket.json`, JSON.stringify({ Hubs: [{ Path: "/echo", Secrets: { ReadWrite: "s" } }] })],
  ]);
  const objects = () => renderKustomization(dir, { readFile: (path) => virtual.get(path) ?? readFile(path) });

  it("mounts the file from a generated Secret and passes its path to the gateway", async () => {
    expect(block).toMatch(/secretGenerator/);
    const rendered = objects();
    const deployment = rendered.find((o) => o.kind === "Deployment") as K8sObject;
    const spec = podSpec(deployment) as PodSpec;
    const gateway = spec.containers[0] as Container & { args: string[]; volumeMounts: { name: string; mountPath: string }[] };
    const secret = rendered.find((o) => o.kind === "Secret" && o.metadata.name.startsWith("rocket-config-file-")) as K8sObject;
    expect(Object.keys(secret.data as object)).toEqual(["rocket.json"]);
    const volume = (spec.volumes ?? []).find((v) => v.secret?.secretName === secret.metadata.name) as { name: string };
    const mount = gateway.volumeMounts.find((m) => m.name === volume.name);
    expect(gateway.args).toEqual([`${mount?.mountPath}/rocket.json`]);
    expect(await schemaErrors(deployment)).toEqual([]);
    expect(unknownFields([deployment])).toEqual([[]]);
  });
});

// The checks above must be able to fail: each is shown a broken copy of a rendered object.
describe("the checks themselves", () => {
  const rendered = () => renderKustomization(repoPath("deploy/k8s/overlays/production"), { readFile });
  const deploymentOf = (objects: K8sObject[]) => objects.find((o) => o.kind === "Deployment") as K8sObject;

  it("find a misspelt field", () => {
    const deployment = deploymentOf(rendered());
    const container = podSpec(deployment)?.containers[0] as Container;
    container.readinesProbe = container.readinessProbe;
    expect(unknownFields([deployment])[0]?.join("\n")).toMatch(/readinesProbe/);
  });

  it("find a wrongly typed value", async () => {
    const hpa = rendered().find((o) => o.kind === "HorizontalPodAutoscaler") as K8sObject;
    (hpa.spec as { minReplicas: unknown }).minReplicas = "3";
    expect((await schemaErrors(hpa)).join("\n")).toMatch(/minReplicas/);
  });

  it("find a privileged container", () => {
    const spec = podSpec(deploymentOf(rendered())) as PodSpec;
    (spec.containers[0] as Container).securityContext = { allowPrivilegeEscalation: true };
    expect(restrictedViolations(spec)).toContain("container gateway: allowPrivilegeEscalation");
  });
});
