import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { isAbsolute, join, relative, resolve } from "node:path";
import { parse, parseAllDocuments } from "yaml";

// What `kubectl apply -k DIR` would send, without kubectl: the subset of kustomize that
// deploy/k8s uses, implemented as kustomize defines it. Anything outside the subset is an
// error rather than silently ignored, so a manifest the renderer does not understand fails
// the test instead of passing it unchecked.
//
// Order within one kustomization, as kustomize does it: resources (other kustomizations
// built first), then components, then generators, then patches (JSON 6902 only),
// namespace, images. Generated ConfigMap and Secret names get a content hash at the very
// end, and references to them in pod templates follow.

/** A Kubernetes object as parsed from YAML. */
export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [key: string]: unknown };
  [key: string]: unknown;
};

export interface RenderOptions {
  /** Read a file; tests substitute files the operator writes and git ignores. */
  readonly readFile?: (path: string) => string;
}

interface Item {
  object: K8sObject;
  /** Set on ConfigMaps and Secrets from a generator: their names get a hash suffix. */
  generated: boolean;
}

const known = new Set([
  "apiVersion",
  "kind",
  "resources",
  "components",
  "namespace",
  "configMapGenerator",
  "secretGenerator",
  "patches",
  "images",
]);
const clusterScoped = new Set(["Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PriorityClass"]);

/** Renders the kustomization in `dir` into the objects `kubectl apply -k dir` would apply. */
export function renderKustomization(dir: string, options: RenderOptions = {}): K8sObject[] {
  const read = options.readFile ?? ((path: string) => readFileSync(path, "utf8"));
  const items = build(resolve(dir), "Kustomization", read);
  return nameGenerated(items);
}

/**
 * Builds the kustomization (or component) in `dir` into `items`. A component works on the
 * including kustomization's objects: its resources join them, and its generators and
 * patches apply to all of them.
 */
function build(dir: string, kind: "Kustomization" | "Component", read: (path: string) => string, items: Item[] = []): Item[] {
  const file = join(dir, "kustomization.yaml");
  const k = parse(read(file)) as Record<string, unknown>;
  const unknownKeys = Object.keys(k).filter((key) => !known.has(key));
  if (unknownKeys.length > 0) throw new Error(`${file}: fields this renderer does not implement: ${unknownKeys.join(", ")}`);
  const apiVersion = kind === "Component" ? "kustomize.config.k8s.io/v1alpha1" : "kustomize.config.k8s.io/v1beta1";
  if (k.kind !== kind || k.apiVersion !== apiVersion) throw new Error(`${file}: expected apiVersion ${apiVersion}, kind ${kind}`);

  for (const entry of list<string>(k.resources)) {
    const path = resolve(dir, entry);
    if (existsSync(path) && statSync(path).isDirectory()) items.push(...build(path, "Kustomization", read));
    else items.push(...parseObjects(within(dir, entry), read).map((object) => ({ object, generated: false })));
  }
  for (const entry of list<string>(k.components)) build(resolve(dir, entry), "Component", read, items);

  for (const gen of list<Generator>(k.configMapGenerator)) generate(dir, "ConfigMap", gen, items, read);
  for (const gen of list<Generator>(k.secretGenerator)) generate(dir, "Secret", gen, items, read);
  for (const patch of list<Patch>(k.patches)) applyPatch(dir, patch, items, read);
  if (typeof k.namespace === "string") {
    for (const { object } of items) if (!clusterScoped.has(object.kind)) object.metadata.namespace = k.namespace;
  }
  for (const image of list<ImageOverride>(k.images)) overrideImage(image, items);
  return items;
}

function list<T>(value: unknown): T[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new Error(`expected a list, got ${JSON.stringify(value)}`);
  return value as T[];
}

/** kustomize's default load restrictor: files come from inside the kustomization's directory. */
function within(dir: string, entry: string): string {
  const path = resolve(dir, entry);
  const rel = relative(dir, path);
  if (rel.startsWith("..") || isAbsolute(rel))
    throw new Error(`${entry}: outside ${dir} (kustomize refuses files outside the root)`);
  return path;
}

function parseObjects(path: string, read: (path: string) => string): K8sObject[] {
  return parseAllDocuments(read(path)).flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors.map((e) => e.message).join("; ")}`);
    const object = doc.toJS() as K8sObject | null;
    if (object === null) return [];
    if (typeof object.kind !== "string" || typeof object.metadata?.name !== "string")
      throw new Error(`${path}: an object without kind or metadata.name`);
    return [object];
  });
}

interface Generator {
  name: string;
  behavior?: "create" | "merge" | "replace";
  literals?: string[];
  envs?: string[];
  files?: string[];
  [key: string]: unknown;
}

function generate(dir: string, kind: "ConfigMap" | "Secret", gen: Generator, items: Item[], read: (path: string) => string) {
  const extra = Object.keys(gen).filter((key) => !["name", "behavior", "literals", "envs", "files"].includes(key));
  if (extra.length > 0)
    throw new Error(`${kind} generator ${gen.name}: fields this renderer does not implement: ${extra.join(", ")}`);
  const data: Record<string, string> = {};
  for (const env of gen.envs ?? []) Object.assign(data, parseEnvFile(read(within(dir, env)), env));
  for (const literal of gen.literals ?? []) Object.assign(data, keyValue(literal, `${gen.name} literal`));
  for (const entry of gen.files ?? []) {
    const [key, path] = entry.includes("=")
      ? (entry.split("=", 2) as [string, string])
      : [entry.split("/").at(-1) ?? entry, entry];
    data[key] = read(within(dir, path));
  }
  const existing = items.find((item) => item.generated && item.object.kind === kind && item.object.metadata.name === gen.name);
  const behavior = gen.behavior ?? "create";
  if (behavior === "create") {
    if (existing) throw new Error(`${kind} ${gen.name} is generated twice; use behavior: merge or replace`);
    const object: K8sObject = { apiVersion: "v1", kind, metadata: { name: gen.name } };
    if (kind === "Secret") {
      object.type = "Opaque";
      object.data = Object.fromEntries(Object.entries(data).map(([key, value]) => [key, Buffer.from(value).toString("base64")]));
    } else {
      object.data = data;
    }
    items.push({ object, generated: true });
    return;
  }
  if (!existing) throw new Error(`${kind} ${gen.name}: behavior ${behavior} needs a generated ${kind} of that name below`);
  const encoded =
    kind === "Secret"
      ? Object.fromEntries(Object.entries(data).map(([key, value]) => [key, Buffer.from(value).toString("base64")]))
      : data;
  existing.object.data = behavior === "merge" ? { ...(existing.object.data as Record<string, string>), ...encoded } : encoded;
}

/** KEY=VALUE lines, `#` comments and blank lines skipped, as kustomize reads `envs` files. */
export function parseEnvFile(text: string, where: string): Record<string, string> {
  const data: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    Object.assign(data, keyValue(trimmed, where));
  }
  return data;
}

function keyValue(text: string, where: string): Record<string, string> {
  const eq = text.indexOf("=");
  if (eq <= 0) throw new Error(`${where}: "${text}" is not KEY=VALUE`);
  return { [text.slice(0, eq)]: text.slice(eq + 1) };
}

interface Patch {
  path?: string;
  patch?: string;
  target?: { group?: string; version?: string; kind?: string; name?: string };
}

function applyPatch(dir: string, patch: Patch, items: Item[], read: (path: string) => string) {
  const text = patch.path !== undefined ? read(within(dir, patch.path)) : patch.patch;
  if (text === undefined) throw new Error("a patch needs path or patch");
  const ops = parse(text) as unknown;
  if (!Array.isArray(ops))
    throw new Error(`${patch.path ?? "inline patch"}: only JSON 6902 patches (a list of operations) are implemented`);
  const target = patch.target;
  if (!target?.kind) throw new Error(`${patch.path ?? "inline patch"}: a JSON 6902 patch needs a target with a kind`);
  const matches = items.filter(({ object }) => {
    const [group, version] = object.apiVersion.includes("/") ? object.apiVersion.split("/") : ["", object.apiVersion];
    return (
      object.kind === target.kind &&
      (target.name === undefined || object.metadata.name === target.name) &&
      (target.group === undefined || group === target.group) &&
      (target.version === undefined || version === target.version)
    );
  });
  if (matches.length === 0) throw new Error(`${patch.path ?? "inline patch"}: its target matches no object`);
  for (const { object } of matches) for (const op of ops as JsonPatchOp[]) applyOp(object, op);
}

interface JsonPatchOp {
  op: "add" | "remove" | "replace" | "test";
  path: string;
  value?: unknown;
}

/** One RFC 6902 operation, in place. */
function applyOp(doc: K8sObject, op: JsonPatchOp) {
  const tokens = op.path
    .split("/")
    .slice(1)
    .map((t) => t.replaceAll("~1", "/").replaceAll("~0", "~"));
  const last = tokens.pop();
  if (last === undefined) throw new Error(`patch path "${op.path}": the whole document cannot be patched`);
  let parent: unknown = doc;
  for (const token of tokens) {
    parent = (parent as Record<string, unknown>)[token];
    if (typeof parent !== "object" || parent === null) throw new Error(`patch path "${op.path}": ${token} does not exist`);
  }
  if (Array.isArray(parent)) patchList(parent, last === "-" ? parent.length : Number(last), op);
  else patchRecord(parent as Record<string, unknown>, last, op);
}

function patchList(list: unknown[], index: number, op: JsonPatchOp) {
  if (!Number.isInteger(index) || index < 0 || index > list.length) throw new Error(`patch path "${op.path}": no index ${index}`);
  if (op.op === "add") {
    list.splice(index, 0, structuredClone(op.value));
    return;
  }
  if (index >= list.length) throw new Error(`patch ${op.op} "${op.path}": nothing there`);
  if (op.op === "remove") list.splice(index, 1);
  else if (op.op === "replace") list[index] = structuredClone(op.value);
  else testValue(list[index], op);
}

function patchRecord(record: Record<string, unknown>, key: string, op: JsonPatchOp) {
  if (op.op === "add") {
    record[key] = structuredClone(op.value);
    return;
  }
  if (!Object.hasOwn(record, key)) throw new Error(`patch ${op.op} "${op.path}": nothing there`);
  if (op.op === "remove") delete record[key];
  else if (op.op === "replace") record[key] = structuredClone(op.value);
  else testValue(record[key], op);
}

function testValue(actual: unknown, op: JsonPatchOp) {
  if (op.op !== "test") throw new Error(`patch op "${op.op}" is not implemented`);
  if (JSON.stringify(actual) !== JSON.stringify(op.value)) throw new Error(`patch test "${op.path}" failed`);
}

interface ImageOverride {
  name: string;
  newName?: string;
  newTag?: string;
}

function overrideImage(image: ImageOverride, items: Item[]) {
  for (const container of items.flatMap(({ object }) => podContainers(object))) {
    const [name, tag] = splitImage(container.image);
    if (name !== image.name) continue;
    container.image = `${image.newName ?? name}${image.newTag !== undefined ? `:${image.newTag}` : tag !== undefined ? `:${tag}` : ""}`;
  }
}

/** "registry:5000/app:tag" → ["registry:5000/app", "tag"]. */
export function splitImage(image: string): [string, string | undefined] {
  const slash = image.lastIndexOf("/");
  const colon = image.lastIndexOf(":");
  return colon > slash ? [image.slice(0, colon), image.slice(colon + 1)] : [image, undefined];
}

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: { configMap?: { name: string }; secret?: { secretName: string } }[];
  [key: string]: unknown;
}

export interface Container {
  name: string;
  image: string;
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  env?: {
    name: string;
    value?: string;
    valueFrom?: { configMapKeyRef?: { name: string; key: string }; secretKeyRef?: { name: string; key: string } };
  }[];
  [key: string]: unknown;
}

/** The pod template of a workload (spec.template.spec), if it has one. */
export function podSpec(object: K8sObject): PodSpec | undefined {
  const spec = object.spec as { template?: { spec?: PodSpec } } | undefined;
  return spec?.template?.spec;
}

function podContainers(object: K8sObject): Container[] {
  const pod = podSpec(object);
  return pod ? [...pod.containers, ...(pod.initContainers ?? [])] : [];
}

/** Gives generated objects their hashed names and points every pod template reference at them. */
function nameGenerated(items: Item[]): K8sObject[] {
  const renamed = new Map<string, string>();
  for (const { object, generated } of items) {
    if (!generated) continue;
    const hash = createHash("sha256")
      .update(JSON.stringify({ kind: object.kind, data: object.data ?? {} }))
      .digest("hex")
      .slice(0, 10);
    const name = `${object.metadata.name}-${hash}`;
    renamed.set(`${object.kind}/${object.metadata.name}`, name);
    object.metadata.name = name;
  }
  const rename = (kind: string, name: string) => renamed.get(`${kind}/${name}`) ?? name;
  for (const { object } of items) {
    const pod = podSpec(object);
    if (!pod) continue;
    for (const container of podContainers(object)) {
      for (const from of container.envFrom ?? []) {
        if (from.configMapRef) from.configMapRef.name = rename("ConfigMap", from.configMapRef.name);
        if (from.secretRef) from.secretRef.name = rename("Secret", from.secretRef.name);
      }
      for (const { valueFrom } of container.env ?? []) {
        if (valueFrom?.configMapKeyRef) valueFrom.configMapKeyRef.name = rename("ConfigMap", valueFrom.configMapKeyRef.name);
        if (valueFrom?.secretKeyRef) valueFrom.secretKeyRef.name = rename("Secret", valueFrom.secretKeyRef.name);
      }
    }
    for (const volume of pod.volumes ?? []) {
      if (volume.configMap) volume.configMap.name = rename("ConfigMap", volume.configMap.name);
      if (volume.secret) volume.secret.secretName = rename("Secret", volume.secret.secretName);
    }
  }
  return items.map(({ object }) => object);
}
