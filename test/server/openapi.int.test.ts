import { readFileSync } from "node:fs";
import { ApiErrorCode, ApiPath, apiErrorStatus } from "@rocket/protocol";
import { Validator } from "@seriousme/openapi-schema-validator";
import { Ajv2020 } from "ajv/dist/2020.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { type GatewayProc, Resources, startGateway } from "../harness/index.js";
import { api, serverEnv, userClient } from "./helpers.js";

const file = new URL("../../docs/openapi.yaml", import.meta.url);
const text = readFileSync(file, "utf8");
/** The parts of an OpenAPI document the checks below read. */
interface MediaType {
  readonly example?: unknown;
  readonly examples?: Record<string, { readonly value: unknown }>;
}
interface OperationDoc {
  readonly parameters?: readonly { readonly name?: string; readonly example?: string }[];
  readonly requestBody?: { readonly content: Record<string, MediaType> };
  readonly responses: Record<string, { readonly $ref?: string; readonly content?: Record<string, MediaType> }>;
}
interface OpenApiDoc {
  readonly openapi: string;
  readonly paths: Record<string, Record<"get" | "post", OperationDoc>>;
  readonly components: {
    readonly schemas: { readonly Error: { readonly properties: { readonly err: { readonly enum: string[] } } } };
    readonly responses: Record<string, { readonly content: Record<string, MediaType> }>;
  };
}
const doc = parse(text) as OpenApiDoc;
/** The JSON media type of a response or body. */
const json = (content: Record<string, MediaType> | undefined): MediaType => content?.["application/json"] ?? {};

/** The document as one schema, so that `#/components/...` references resolve from any part of it. */
const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addSchema(doc, "openapi");
const validate = (pointer: string, value: unknown): string[] => {
  const check = ajv.getSchema(`openapi#${pointer}`);
  if (check === undefined) throw new Error(`no schema at ${pointer}`);
  return check(value) ? [] : (check.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
};
const pointerStep = (path: string) => path.replace(/~/g, "~0").replace(/\//g, "~1");

type Operation = { path: string; method: "get" | "post"; op: OperationDoc };
const operations: Operation[] = Object.entries(doc.paths).flatMap(([path, item]) =>
  Object.entries(item).map(([method, op]) => ({ path, method: method as "get" | "post", op })),
);

describe("docs/openapi.yaml", () => {
  it("is a valid OpenAPI 3.1 document", async () => {
    const result = await new Validator().validate(text);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.openapi).toMatch(/^3\.1\./);
  });

  it("describes every endpoint and every error code the gateway has, with its status", () => {
    expect(operations.map((o) => o.path).sort()).toEqual(Object.values(ApiPath).sort());
    expect([...doc.components.schemas.Error.properties.err.enum].sort()).toEqual(Object.values(ApiErrorCode).sort());
    for (const { op } of operations) {
      for (const [status, response] of Object.entries(op.responses as Record<string, { $ref?: string }>)) {
        if (status === "200") continue;
        const name = response.$ref?.split("/").pop() ?? "";
        const example = json(doc.components.responses[name]?.content).example as { err: ApiErrorCode };
        expect(apiErrorStatus[example.err], `${name}`).toBe(Number(status));
      }
    }
  });

  it("has examples that fit their own schemas", () => {
    for (const { path, method, op } of operations) {
      const at = `/paths/${pointerStep(path)}/${method}`;
      const body = op.requestBody?.content["application/json"];
      if (body)
        expect(validate(`${at}/requestBody/content/application~1json/schema`, body.example), `${path} request`).toEqual([]);
      const ok = json(op.responses["200"]?.content);
      const examples = ok.examples ? Object.values(ok.examples).map((e) => e.value) : [ok.example];
      for (const example of examples) {
        expect(validate(`${at}/responses/200/content/application~1json/schema`, example), `${path} answer`).toEqual([]);
      }
    }
  });
});

describe("docs/openapi.yaml against a running gateway", () => {
  const resources = new Resources();
  let gw: GatewayProc;
  beforeAll(async () => {
    gw = resources.add(await startGateway({ env: serverEnv() }), (g) => g.stop());
  });
  afterAll(() => resources.close());

  it("answers each documented example request with a body its 200 schema describes", async () => {
    // The channels the examples name have someone on them, as in the examples.
    const alice = await userClient(resources, gw, "alice");
    expect(await alice.subscribe("room:1")).toEqual({ ok: true });
    for (const { path, method, op } of operations) {
      const at = `/paths/${pointerStep(path)}/${method}`;
      const query = new URLSearchParams();
      for (const p of op.parameters ?? []) {
        if (p.example !== undefined && p.name !== undefined) query.set(p.name, p.example);
      }
      const body = op.requestBody && json(op.requestBody.content).example;
      const res = await api(gw, method === "get" ? "GET" : "POST", `${path}${query.size > 0 ? `?${query}` : ""}`, body);
      expect(res.status, path).toBe(200);
      expect(
        validate(`${at}/responses/200/content/application~1json/schema`, res.body),
        `${path} ${JSON.stringify(res.body)}`,
      ).toEqual([]);
    }
    // The error answers are what the document says, with the status it gives them.
    const wrong = await api(gw, "POST", "/api/publish", { channel: "c", event: "e" }, "no-such-key-0123456789");
    expect(validate("/components/responses/Unauthorized/content/application~1json/schema", wrong.body)).toEqual([]);
    expect(wrong).toEqual({ status: 401, body: json(doc.components.responses.Unauthorized?.content).example });
  });
});
