/**
 * A small OTLP/HTTP trace receiver for tests (no collector needed): it accepts
 * `POST /v1/traces` in `application/x-protobuf` and `application/json`, decodes the spans (the
 * protobuf by hand, with the field numbers of opentelemetry/proto/trace/v1/trace.proto), and keeps
 * them for assertions.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { BinaryReader, type WireType } from "@bufbuild/protobuf/wire";

export type AttributeValue = string | number | boolean;

export interface ReceivedSpan {
  readonly service: string;
  readonly name: string;
  /** 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  readonly kind: number;
  readonly traceId: string;
  readonly spanId: string;
  /** "" for a root span. */
  readonly parentSpanId: string;
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  readonly links: readonly { traceId: string; spanId: string }[];
  /** 0 unset, 1 ok, 2 error. */
  readonly statusCode: number;
}

export const SPAN_KIND = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 } as const;

export interface OtlpReceiver {
  /** Base URL to give as OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly url: string;
  readonly spans: ReceivedSpan[];
  /** The content type of every export received. */
  readonly contentTypes: string[];
  /** Resolves once `predicate` holds for the spans received (polling), or rejects after `timeoutMs`. */
  waitFor(
    predicate: (spans: readonly ReceivedSpan[]) => boolean,
    timeoutMs?: number,
  ): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const contentTypes: string[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks);
      const type = request.headers["content-type"] ?? "";
      contentTypes.push(type);
      try {
        if (request.url !== "/v1/traces") throw new Error(`unexpected path ${request.url}`);
        spans.push(...(type.startsWith("application/json") ? fromJson(body) : fromProtobuf(body)));
        response.writeHead(200, {
          "content-type": type.startsWith("application/json") ? "application/json" : "application/x-protobuf",
        });
        response.end(type.startsWith("application/json") ? "{}" : undefined);
      } catch (error) {
        response.writeHead(400);
        response.end(String(error));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    spans,
    contentTypes,
    async waitFor(predicate, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(spans)) {
        if (Date.now() > deadline) {
          throw new Error(
            `spans never matched; received: ${spans.map((s) => `${s.service}:${s.name}`).join(", ")}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return spans;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

// ——— OTLP/JSON (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding) ———

interface JsonKeyValue {
  key: string;
  value: { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
}

function fromJson(body: Buffer): ReceivedSpan[] {
  const request = JSON.parse(body.toString("utf8")) as {
    resourceSpans?: {
      resource?: { attributes?: JsonKeyValue[] };
      scopeSpans?: {
        spans?: {
          traceId: string;
          spanId: string;
          parentSpanId?: string;
          name: string;
          kind?: number;
          startTimeUnixNano: string | number;
          endTimeUnixNano: string | number;
          attributes?: JsonKeyValue[];
          links?: { traceId: string; spanId: string }[];
          status?: { code?: number };
        }[];
      }[];
    }[];
  };
  const spans: ReceivedSpan[] = [];
  for (const resourceSpans of request.resourceSpans ?? []) {
    const service = String(jsonAttributes(resourceSpans.resource?.attributes)["service.name"] ?? "");
    for (const scope of resourceSpans.scopeSpans ?? []) {
      for (const span of scope.spans ?? []) {
        spans.push({
          service,
          name: span.name,
          kind: span.kind ?? 0,
          traceId: span.traceId.toLowerCase(),
          spanId: span.spanId.toLowerCase(),
          parentSpanId: (span.parentSpanId ?? "").toLowerCase(),
          startNs: BigInt(span.startTimeUnixNano),
          endNs: BigInt(span.endTimeUnixNano),
          attributes: jsonAttributes(span.attributes),
          links: (span.links ?? []).map((link) => ({
            traceId: link.traceId.toLowerCase(),
            spanId: link.spanId.toLowerCase(),
          })),
          statusCode: span.status?.code ?? 0,
        });
      }
    }
  }
  return spans;
}

function jsonAttributes(list: JsonKeyValue[] | undefined): Record<string, AttributeValue> {
  const attributes: Record<string, AttributeValue> = {};
  for (const { key, value } of list ?? []) {
    if (value.stringValue !== undefined) attributes[key] = value.stringValue;
    else if (value.intValue !== undefined) attributes[key] = Number(value.intValue);
    else if (value.boolValue !== undefined) attributes[key] = value.boolValue;
    else if (value.doubleValue !== undefined) attributes[key] = value.doubleValue;
  }
  return attributes;
}

// ——— OTLP/protobuf, the few messages a trace export is made of ———

/** Calls `field` for each field of the message in `bytes`; unknown fields are skipped. */
function readFields(
  bytes: Uint8Array,
  field: (number: number, reader: BinaryReader, wireType: WireType) => boolean,
): void {
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [number, wireType] = reader.tag();
    if (!field(number, reader, wireType)) reader.skip(wireType, number);
  }
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

function fromProtobuf(body: Buffer): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  // ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
  readFields(body, (number, reader) => {
    if (number !== 1) return false;
    let service = "";
    const scopes: Uint8Array[] = [];
    // ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
    readFields(reader.bytes(), (n, r) => {
      if (n === 1) {
        // Resource { repeated KeyValue attributes = 1; }
        readFields(r.bytes(), (m, rr) => {
          if (m !== 1) return false;
          const [key, value] = keyValue(rr.bytes());
          if (key === "service.name") service = String(value);
          return true;
        });
        return true;
      }
      if (n === 2) {
        scopes.push(r.bytes());
        return true;
      }
      return false;
    });
    for (const scope of scopes) {
      // ScopeSpans { repeated Span spans = 2; }
      readFields(scope, (n, r) => {
        if (n !== 2) return false;
        spans.push(span(r.bytes(), service));
        return true;
      });
    }
    return true;
  });
  return spans;
}

function span(bytes: Uint8Array, service: string): ReceivedSpan {
  const fields = {
    traceId: "",
    spanId: "",
    parentSpanId: "",
    name: "",
    kind: 0,
    startNs: 0n,
    endNs: 0n,
    statusCode: 0,
  };
  const attributes: Record<string, AttributeValue> = {};
  const links: { traceId: string; spanId: string }[] = [];
  readFields(bytes, (n, r) => {
    switch (n) {
      case 1:
        fields.traceId = hex(r.bytes());
        return true;
      case 2:
        fields.spanId = hex(r.bytes());
        return true;
      case 4:
        fields.parentSpanId = hex(r.bytes());
        return true;
      case 5:
        fields.name = r.string();
        return true;
      case 6:
        fields.kind = r.int32();
        return true;
      case 7:
        fields.startNs = BigInt(r.fixed64());
        return true;
      case 8:
        fields.endNs = BigInt(r.fixed64());
        return true;
      case 9: {
        const [key, value] = keyValue(r.bytes());
        attributes[key] = value;
        return true;
      }
      case 13: {
        // Link { bytes trace_id = 1; bytes span_id = 2; }
        const link = { traceId: "", spanId: "" };
        readFields(r.bytes(), (m, rr) => {
          if (m === 1) link.traceId = hex(rr.bytes());
          else if (m === 2) link.spanId = hex(rr.bytes());
          else return false;
          return true;
        });
        links.push(link);
        return true;
      }
      case 15:
        // Status { string message = 2; StatusCode code = 3; }
        readFields(r.bytes(), (m, rr) => {
          if (m !== 3) return false;
          fields.statusCode = rr.int32();
          return true;
        });
        return true;
      default:
        return false;
    }
  });
  return { ...fields, service, attributes, links };
}

/** KeyValue { string key = 1; AnyValue value = 2; } with AnyValue's string, bool, int and double. */
function keyValue(bytes: Uint8Array): [string, AttributeValue] {
  let key = "";
  let value: AttributeValue = "";
  readFields(bytes, (n, r) => {
    if (n === 1) key = r.string();
    else if (n === 2) {
      readFields(r.bytes(), (m, rr) => {
        if (m === 1) value = rr.string();
        else if (m === 2) value = rr.bool();
        else if (m === 3) value = Number(rr.int64());
        else if (m === 4) value = rr.double();
        else return false;
        return true;
      });
    } else return false;
    return true;
  });
  return [key, value];
}
