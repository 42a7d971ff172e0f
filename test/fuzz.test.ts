/**
 * Bad input never produces a 500: every KMS, CloudTrail, Organizations and Secrets Manager operation gets signed requests whose
 * members are of the wrong type, at and past their bounds, empty, huge, unicode or null, and
 * every answer must be a 2xx or a 4xx with an AWS error code — never a 5xx or a stack trace.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { CreateKeyCommand } from "@aws-sdk/client-kms";
import { KMS_OPERATIONS } from "../src/kms/registry.js";
import { CLOUDTRAIL_OPERATIONS } from "../src/cloudtrail/registry.js";
import { ORGANIZATIONS_OPERATIONS, ORGANIZATIONS_TARGET_PREFIX } from "../src/organizations/registry.js";
import type { Schema } from "../src/validation/schema.js";
import { startTestServer, type TestServer } from "./helpers.js";
import { call, query } from "./raw-requests.js";
import { IAM_OPERATIONS } from "../src/iam/registry.js";
import { STS_OPERATIONS } from "../src/sts/registry.js";
import { SECRETSMANAGER_OPERATIONS, SECRETSMANAGER_TARGET_PREFIX } from "../src/secretsmanager/registry.js";

/** A small deterministic generator, so a failure can be replayed. */
function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648;
  };
}

function value(schema: Schema, r: () => number, keyId: string, depth = 0): unknown {
  const pick = r();
  if (pick < 0.08) return null;
  if (pick < 0.16) return [true, 42, -1, 1.5, "x", [], {}, "é".repeat(3)][Math.floor(r() * 8)]; // any type at all
  switch (schema.kind) {
    case "string": {
      if (schema.enum && r() < 0.5) return schema.enum[Math.floor(r() * schema.enum.length)];
      const choices = [
        keyId,
        "alias/fuzz",
        `arn:aws:kms:us-east-1:111122223333:key/${keyId}`,
        "",
        "a".repeat((schema.max ?? 64) + 1),
        "\u0000\u202e✓",
        "*",
        "arn:",
      ];
      return choices[Math.floor(r() * choices.length)];
    }
    case "integer":
      return [0, 1, -1, schema.min ?? 0, schema.max ?? 100, (schema.max ?? 100) + 1, 2 ** 53, 1e308][Math.floor(r() * 8)];
    case "boolean":
      return r() < 0.5;
    case "timestamp":
      return [0, -1, 1e12, 1.7e9, Number.MAX_SAFE_INTEGER][Math.floor(r() * 5)];
    case "blob": {
      const sizes = [0, 1, 16, 32, schema.max ?? 64, (schema.max ?? 64) + 1];
      return Buffer.alloc(sizes[Math.floor(r() * sizes.length)]!, Math.floor(r() * 256)).toString("base64");
    }
    case "list":
      return depth > 3 ? [] : Array.from({ length: Math.floor(r() * 4) }, () => value(schema.member, r, keyId, depth + 1));
    case "map": {
      const out: Record<string, unknown> = {};
      for (let i = 0; i < Math.floor(r() * 3); i++)
        out[["a", "__proto__", "é", ""][Math.floor(r() * 4)]!] = value(schema.value, r, keyId, depth + 1);
      return out;
    }
    case "structure": {
      const out: Record<string, unknown> = {};
      for (const [name, member] of Object.entries(schema.members)) if (r() < 0.8) out[name] = value(member, r, keyId, depth + 1);
      return out;
    }
  }
}

describe("fuzzed inputs to every operation", () => {
  let server: TestServer;
  let keyId: string;
  before(async () => {
    server = await startTestServer();
    keyId = (await server.client().send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    // A secret the fuzzed SecretIds (the key id among them) can find.
    await call(server.url, `${SECRETSMANAGER_TARGET_PREFIX}.CreateSecret`, JSON.stringify({ Name: keyId, SecretString: "fuzz" }), {
      service: "secretsmanager",
    });
  });
  after(() => server.stop());

  const targets = [
    ...KMS_OPERATIONS.map((op) => ({ target: `TrentService.${op.name}`, service: "kms", op })),
    ...CLOUDTRAIL_OPERATIONS.map((op) => ({ target: `CloudTrail_20131101.${op.name}`, service: "cloudtrail", op })),
    ...ORGANIZATIONS_OPERATIONS.map((op) => ({ target: `${ORGANIZATIONS_TARGET_PREFIX}.${op.name}`, service: "organizations", op })),
    ...SECRETSMANAGER_OPERATIONS.map((op) => ({ target: `${SECRETSMANAGER_TARGET_PREFIX}.${op.name}`, service: "secretsmanager", op })),
  ];

  it(`never answers 5xx: ${targets.length} operations × 25 inputs`, async () => {
    const r = rng(Number(process.env.KEYHOLD_FUZZ_SEED ?? 20261123));
    const failures: string[] = [];
    for (const { target, service, op } of targets) {
      for (let i = 0; i < 25; i++) {
        const body = JSON.stringify(value(op.input, r, keyId));
        const res = await call(server.url, target, body, { service });
        if (res.status >= 500 || !/^\{/.test(res.body) || /\bat .*\.js:\d+/.test(res.body)) {
          failures.push(`${target} ${body.slice(0, 200)} → ${res.status} ${res.body.slice(0, 200)}`);
        } else if (res.status >= 400) {
          assert.match(String(res.json().__type), /^[A-Za-z]+$/, `${target}: an AWS error code`);
        }
      }
    }
    assert.deepEqual(failures, []);
  });

  /** Flattens a value the Query protocol's way: lists as .member.N, maps as .entry.N.key/value, structures dotted. */
  function flatten(v: unknown, prefix: string, out: Record<string, string>): void {
    if (v === null || v === undefined) return;
    if (Array.isArray(v)) {
      if (v.length === 0) out[prefix] = "";
      v.forEach((item, i) => flatten(item, `${prefix}.member.${i + 1}`, out));
    } else if (typeof v === "object") {
      for (const [k, item] of Object.entries(v)) flatten(item, prefix ? `${prefix}.${k}` : k, out);
    } else {
      out[prefix || "Value"] = String(v);
    }
  }

  const queryTargets = [...IAM_OPERATIONS.map((op) => ({ service: "iam", op })), ...STS_OPERATIONS.map((op) => ({ service: "sts", op }))];

  it(`never answers 5xx over the Query protocol: ${queryTargets.length} IAM and STS operations × 25 inputs`, async () => {
    const r = rng(Number(process.env.KEYHOLD_FUZZ_SEED ?? 20261123) + 1);
    const failures: string[] = [];
    for (const { service, op } of queryTargets) {
      for (let i = 0; i < 25; i++) {
        const params: Record<string, string> = {};
        flatten(value(op.input, r, keyId), "", params);
        if (r() < 0.1) params["Bogus.member.999999"] = "x";
        params.Action = op.name;
        params.Version = service === "iam" ? "2010-05-08" : "2011-06-15";
        const res = await query(server.url, service, params);
        const code = /<Code>([^<]*)<\/Code>/.exec(res.body)?.[1];
        if (res.status >= 500 || /\bat .*\.js:\d+/.test(res.body) || (res.status >= 400 && !/^[A-Za-z.]+$/.test(code ?? ""))) {
          failures.push(`${service} ${op.name} ${JSON.stringify(params).slice(0, 200)} → ${res.status} ${res.body.slice(0, 200)}`);
        }
      }
    }
    assert.deepEqual(failures, []);
  });
});
