/**
 * The AWS Query protocol adapter (IAM, STS): `Action=<Operation>&Version=<date>&…` as a form
 * body (or query string), replies as `<OperationResponse><OperationResult>…` XML, errors as
 * `<ErrorResponse><Error><Type/><Code/><Message/></Error>`.
 * https://smithy.io/2.0/aws/protocols/aws-query-protocol.html
 *
 * Flattened parameters (`Tags.member.1.Key`, `Map.entry.1.key`) are rebuilt into the input's
 * shape by the operation's schema, then validated like any other input. Services that share the
 * JSON protocol's error codes for authentication get the Query protocol's names for them.
 */
import { ERROR_CODES, ServiceError, type ErrorCode } from "../errors.js";
import type { Schema } from "../validation/schema.js";
import type { ProtocolAdapter, Reply, Route, ServiceOperation } from "./dispatch.js";
import { parseAuthorization, type SignedRequest } from "./sigv4.js";

export interface QueryOperation extends ServiceOperation {
  readonly input: Schema;
}

export interface QueryService {
  signingName: string;
  /** The API version clients send, and the XML namespace of replies. */
  version: string;
  xmlNamespace: string;
  operation(name: string): QueryOperation | undefined;
}

/** The Query protocol's names for the failures every service shares. */
const QUERY_CODES: Partial<Record<ErrorCode, ErrorCode>> = {
  MissingAuthenticationTokenException: "MissingAuthenticationToken",
  IncompleteSignatureException: "IncompleteSignature",
  InvalidSignatureException: "SignatureDoesNotMatch",
  UnrecognizedClientException: "InvalidClientTokenId",
  ExpiredTokenException: "ExpiredToken",
  AccessDeniedException: "AccessDenied",
  ValidationException: "ValidationError",
  SerializationException: "MalformedInput",
  UnknownOperationException: "InvalidAction",
};

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c]!);
}

/** An output value as Query XML: lists as <member> items, timestamps in ISO 8601. */
export function toXml(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (value instanceof Date) return value.toISOString().replace(/\.\d{3}Z$/, "Z");
  if (Array.isArray(value)) return value.map((v) => `<member>${toXml(v)}</member>`).join("");
  if (typeof value === "object") {
    return Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined && v !== null)
      .map(([k, v]) => `<${k}>${toXml(v)}</${k}>`)
      .join("");
  }
  return escapeXml(String(value));
}

function parseParams(text: string, into: Map<string, string>): void {
  for (const part of text.split("&")) {
    if (!part) continue;
    const eq = part.indexOf("=");
    const decode = (s: string) => {
      try {
        return decodeURIComponent(s.replace(/\+/g, " "));
      } catch {
        throw new ServiceError("SerializationException", "The request parameters are not valid URL encoding.");
      }
    };
    into.set(decode(eq < 0 ? part : part.slice(0, eq)), decode(eq < 0 ? "" : part.slice(eq + 1)));
  }
}

/** Rebuilds the flattened parameters under `prefix` into the shape `schema` describes. */
function fromParams(schema: Schema, params: Map<string, string>, prefix: string, present: ReadonlySet<string>): unknown {
  const scalar = params.get(prefix);
  switch (schema.kind) {
    case "structure": {
      const out: Record<string, unknown> = {};
      for (const [name, member] of Object.entries(schema.members)) {
        const path = prefix ? `${prefix}.${name}` : name;
        const value = fromParams(member, params, path, present);
        if (value !== undefined) out[name] = value;
      }
      return prefix && !present.has(prefix) ? undefined : out;
    }
    case "list": {
      if (scalar === "") return [];
      const items: unknown[] = [];
      for (let i = 1; i <= params.size; i++) {
        const path = `${prefix}.member.${i}`;
        if (!present.has(path)) break;
        items.push(fromParams(schema.member, params, path, present));
      }
      return items.length > 0 ? items : undefined;
    }
    case "map": {
      const out: Record<string, unknown> = {};
      for (let i = 1; i <= params.size; i++) {
        const key = params.get(`${prefix}.entry.${i}.key`);
        if (key === undefined) break;
        out[key] = fromParams(schema.value, params, `${prefix}.entry.${i}.value`, present);
      }
      return Object.keys(out).length > 0 ? out : undefined;
    }
    case "integer":
      return scalar === undefined ? undefined : /^-?\d+$/.test(scalar) ? Number(scalar) : scalar;
    case "boolean":
      return scalar === undefined ? undefined : scalar === "true" ? true : scalar === "false" ? false : scalar;
    case "timestamp": {
      if (scalar === undefined) return undefined;
      const t = Date.parse(scalar);
      return Number.isNaN(t) ? scalar : t / 1000;
    }
    default:
      return scalar;
  }
}

export class QueryProtocol implements ProtocolAdapter {
  private readonly bySigningName: Map<string, QueryService>;

  constructor(private readonly services: readonly QueryService[]) {
    this.bySigningName = new Map(services.map((s) => [s.signingName, s]));
  }

  /** The service a request is for: the one its credential scope names (IAM when it names none). */
  private serviceOf(req: SignedRequest): QueryService {
    const header = req.headers.authorization;
    let name: string | undefined;
    try {
      name = header ? parseAuthorization(header).service : undefined;
    } catch {
      name = undefined;
    }
    const service = name ? this.bySigningName.get(name) : undefined;
    return service ?? this.services[0]!;
  }

  route(req: SignedRequest): Route {
    const service = this.serviceOf(req);
    const params = new Map<string, string>();
    parseParams(req.rawQuery, params);
    const type = String(req.headers["content-type"] ?? "");
    if (req.method === "POST" && type.startsWith("application/x-www-form-urlencoded")) parseParams(req.body.toString("utf8"), params);
    const action = params.get("Action");
    if (!action || (req.method !== "POST" && req.method !== "GET")) {
      throw new ServiceError(
        "UnknownOperationException",
        `Could not find operation ${action ?? "(no Action)"} for version ${params.get("Version") ?? "NO_VERSION_SPECIFIED"}`,
      );
    }
    const operation = service.operation(action);
    // Every parameter name and each of its dotted prefixes: "A.member.1.Key" makes "A" and "A.member.1" present.
    const present = new Set<string>();
    for (const name of params.keys()) {
      present.add(name);
      for (let i = name.indexOf("."); i > 0; i = name.indexOf(".", i + 1)) present.add(name.slice(0, i));
    }
    return {
      service: service.signingName,
      operationName: action,
      operation,
      input: () => (operation ? fromParams(operation.input, params, "", present) : {}),
      internalErrorCode: "InternalFailure",
    };
  }

  private namespace(route: Route | undefined): string {
    return (route && this.bySigningName.get(route.service)?.xmlNamespace) ?? this.services[0]!.xmlNamespace;
  }

  success(requestId: string, output: unknown, route: Route): Reply {
    const op = route.operationName;
    const body = toXml(output);
    const result = body ? `<${op}Result>${body}</${op}Result>` : "";
    const xml =
      `<?xml version="1.0" encoding="UTF-8"?>\n<${op}Response xmlns="${this.namespace(route)}">${result}` +
      `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${op}Response>`;
    return { status: 200, headers: { "content-type": "text/xml", "x-amzn-requestid": requestId }, body: Buffer.from(xml, "utf8") };
  }

  failure(requestId: string, code: ErrorCode, message: string, route: Route | undefined): Reply {
    const wire = QUERY_CODES[code] ?? code;
    const status = ERROR_CODES[wire].status;
    const xml =
      `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="${this.namespace(route)}"><Error><Type>${status >= 500 ? "Receiver" : "Sender"}</Type>` +
      `<Code>${wire}</Code><Message>${escapeXml(message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
    return { status, headers: { "content-type": "text/xml", "x-amzn-requestid": requestId }, body: Buffer.from(xml, "utf8") };
  }
}
