import ts from "typescript";
import { repoPath } from "./files.js";
import type { K8sObject } from "./kustomize.js";

// Two checks per object, both from the Kubernetes OpenAPI schema as the kubernetes-models
// packages publish it (the ServiceMonitor from the prometheus-operator CRD's schema):
// - values: kubernetes-models' validate(), a compiled JSON-schema validator (types, enums,
//   required fields, patterns, integers);
// - field names: the same packages' TypeScript interfaces, with TypeScript's excess-property
//   check. The compiled validators accept unknown fields (the OpenAPI schemas do not close
//   objects), while `kubectl apply` refuses them (strict field validation), so a misspelt
//   `readinesProbe` would otherwise pass unseen.

/** The kubernetes-models module of an object's kind, e.g. "kubernetes-models/apps/v1/Deployment". */
export function modelModule(object: Pick<K8sObject, "apiVersion" | "kind">): string {
  const [group, version] = object.apiVersion.includes("/") ? object.apiVersion.split("/") : ["", object.apiVersion];
  if (group === "monitoring.coreos.com") return `@kubernetes-models/prometheus-operator/${group}/${version}/${object.kind}`;
  return group === "" ? `kubernetes-models/${version}/${object.kind}` : `kubernetes-models/${group}/${version}/${object.kind}`;
}

/** Whether the packages have a schema for this apiVersion and kind. */
export async function hasModel(object: Pick<K8sObject, "apiVersion" | "kind">): Promise<boolean> {
  try {
    const module = (await import(modelModule(object))) as Record<string, unknown>;
    return typeof module[object.kind] === "function";
  } catch {
    return false;
  }
}

interface ModelClass {
  new (data: unknown): { validate(): void };
}

/** The schema's complaints about an object's values; empty when it is valid. */
export async function schemaErrors(object: K8sObject): Promise<string[]> {
  const module = (await import(modelModule(object))) as Record<string, ModelClass | undefined>;
  const Model = module[object.kind];
  if (!Model) throw new Error(`${modelModule(object)} exports no ${object.kind}`);
  try {
    new Model(object).validate();
    return [];
  } catch (err) {
    const errors = (err as { errors?: { instancePath: string; message?: string }[] }).errors;
    return errors ? errors.map((e) => `${e.instancePath} ${e.message ?? ""}`) : [(err as Error).message];
  }
}

/**
 * Field names the schema does not know, per object (same order as `objects`), found by
 * type-checking each object as an object literal of its kind's interface.
 */
export function unknownFields(objects: readonly K8sObject[]): string[][] {
  const file = repoPath("test/deploy/k8s-rendered.generated.ts");
  const lines = objects.map((object, i) => {
    const type = `import("${modelModule(object)}").I${object.kind}`;
    return `export const o${i}: ${type} = ${JSON.stringify(object)};`;
  });
  const source = lines.join("\n");
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  };
  // The generated file exists only in memory.
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, language, ...rest) =>
    name === file ? ts.createSourceFile(name, source, language) : getSourceFile.call(host, name, language, ...rest);
  host.fileExists = (name) => name === file || fileExists.call(host, name);
  host.readFile = (name) => (name === file ? source : readFile.call(host, name));
  const program = ts.createProgram([file], options, host);
  const found: string[][] = objects.map(() => []);
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n");
    if (diagnostic.file?.fileName !== file || diagnostic.start === undefined) throw new Error(`type check: ${message}`);
    const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
    const slot = found[line];
    if (!slot) throw new Error(`type check: ${message}`);
    slot.push(message.split("\n")[0] ?? message);
  }
  return found;
}
