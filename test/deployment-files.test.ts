/**
 * What can be checked of the Docker files without a Docker engine: the compose file parses, every
 * app service's environment is a configuration the platform accepts, the split profile is the
 * four-process topology of docs/api.md, and the image starts the platform the way `npm start` does.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadConfig } from "../src/platform/config.js";
import { SPLIT_NODE_OPTIONS } from "./support/topologies.js";

interface ComposeService {
  image?: string;
  build?: string;
  profiles?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  healthcheck?: unknown;
  depends_on?: Record<string, { condition: string }>;
}

const compose = parse(readFileSync("docker-compose.yml", "utf8"), { merge: true }) as {
  services: Record<string, ComposeService>;
  configs?: Record<string, { content?: string }>;
};

/** An environment as compose hands it over with nothing set: `${NAME:-default}` becomes the default. */
function interpolated(environment: Record<string, string> | undefined): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [name, value] of Object.entries(environment ?? {})) {
    values[name] = value.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, "$1");
  }
  return values;
}
const appServices = Object.entries(compose.services).filter(([, service]) => service.build !== undefined);

describe("docker-compose.yml", () => {
  it("runs PostgreSQL, NATS with JetStream and Redis beside the app", () => {
    expect(compose.services.postgres?.image).toMatch(/^postgres:/);
    expect(compose.services.postgres?.healthcheck).toBeDefined();
    expect(JSON.stringify(compose.services.nats)).toContain("-js");
    expect(compose.services.redis?.image).toMatch(/^redis:/);
  });

  it.each(appServices)("gives %s a configuration the platform accepts", (_name, service) => {
    const environment = {
      ...interpolated(service.environment),
      JWT_SECRET: "a-secret-the-operator-provides-32b+",
    };
    expect(() => loadConfig(environment)).not.toThrow();
    // Tracing is off unless the operator points the processes at a collector.
    expect(loadConfig(environment).tracing).toBeUndefined();
    const traced = { ...environment, OTEL_EXPORTER_OTLP_ENDPOINT: "http://otel-collector:4318" };
    expect(loadConfig(traced).tracing?.endpoint).toBe("http://otel-collector:4318/v1/traces");
  });

  it.each(appServices)(
    "ships no usable JWT_SECRET for %s: compose requires one from the environment",
    (_name, service) => {
      // `${VAR:?message}`: compose stops with the message when VAR is unset or empty.
      expect(service.environment?.JWT_SECRET).toMatch(/^\$\{JWT_SECRET:\?[^}]+\}$/);
      // The message says how to make one.
      expect(service.environment?.JWT_SECRET).toContain("openssl rand");
    },
  );

  it("has the single process by default and the four processes of a split in the split profile", () => {
    expect(compose.services.app?.profiles).toBeUndefined();
    const split = appServices.filter(([, service]) => service.profiles?.includes("split"));
    const modules = split.map(([, service]) => service.environment?.MODULES).sort();
    expect(modules).toEqual(["gateway", "inventory", "orders", "statistics"]);
    const ports = appServices.flatMap(([, service]) => service.ports ?? []).map((port) => port.split(":")[0]);
    expect(new Set(ports).size).toBe(ports.length);
  });
});

describe("docker-compose.yml split profile", () => {
  it("starts a process only once the module processes it calls are healthy", () => {
    const healthy = (name: string) => {
      return Object.entries(compose.services[name]?.depends_on ?? {})
        .filter(([, dependency]) => dependency.condition === "service_healthy")
        .map(([dependency]) => dependency)
        .sort();
    };
    expect(healthy("orders")).toEqual(["inventory", "postgres"]);
    expect(healthy("gateway")).toEqual(["inventory", "orders", "postgres", "statistics"]);
    expect(healthy("inventory")).toEqual(["postgres"]);
  });

  it("gives each of the four processes one V8 background thread, as the split test topology does", () => {
    const split = appServices.filter(([, service]) => service.profiles?.includes("split"));
    for (const [, service] of split) expect(service.environment?.NODE_OPTIONS).toBe(SPLIT_NODE_OPTIONS);
    expect(compose.services.app?.environment?.NODE_OPTIONS).toBeUndefined();
    // Node refuses an option NODE_OPTIONS may not carry, so this one is taken as it is written.
    const run = spawnSync(process.execPath, ["-e", "0"], {
      env: { ...process.env, NODE_OPTIONS: SPLIT_NODE_OPTIONS },
      encoding: "utf8",
    });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
  });
});

describe("docker-compose.yml observability profile", () => {
  it("adds a collector and Jaeger, with pinned images, only in the observability profile", () => {
    for (const name of ["otel-collector", "jaeger"]) {
      const service = compose.services[name];
      expect(service?.profiles).toEqual(["observability"]);
      expect(service?.image).toMatch(/:\d+\.\d+\.\d+$/);
    }
  });

  it("lets every process's OTEL_EXPORTER_OTLP_ENDPOINT come from the operator, empty by default", () => {
    for (const [, service] of appServices) {
      // Compose interpolation, written without a template literal.
      expect(service.environment?.OTEL_EXPORTER_OTLP_ENDPOINT).toBe(
        ["${", "OTEL_EXPORTER_OTLP_ENDPOINT:-}"].join(""),
      );
    }
  });

  it("has the collector receive OTLP/HTTP on 4318 and export traces to Jaeger", () => {
    const config = parse(compose.configs?.["otel-collector"]?.content ?? "") as {
      receivers: { otlp: { protocols: { http: { endpoint: string } } } };
      exporters: Record<string, { endpoint: string }>;
      service: { pipelines: { traces: { receivers: string[]; exporters: string[] } } };
    };
    expect(config.receivers.otlp.protocols.http.endpoint).toBe("0.0.0.0:4318");
    expect(config.service.pipelines.traces.receivers).toEqual(["otlp"]);
    const [exporter] = config.service.pipelines.traces.exporters;
    expect(config.exporters[exporter as string]?.endpoint).toBe("jaeger:4317");
    expect(compose.services["otel-collector"]?.ports).toContain("4318:4318");
    expect(compose.services.jaeger?.ports).toContain("16686:16686");
  });
});

describe("docker-compose.yml infra profile", () => {
  it("publishes PostgreSQL, NATS with JetStream and Redis on this machine only, the images of the stack", () => {
    const infra = Object.entries(compose.services).filter(([, service]) =>
      service.profiles?.includes("infra"),
    );
    expect(infra.map(([name]) => name).sort()).toEqual(["infra-nats", "infra-postgres", "infra-redis"]);
    expect(compose.services["infra-postgres"]?.ports).toEqual(["127.0.0.1:5432:5432"]);
    expect(compose.services["infra-nats"]?.ports).toEqual(["127.0.0.1:4222:4222"]);
    expect(compose.services["infra-redis"]?.ports).toEqual(["127.0.0.1:6379:6379"]);
    expect(JSON.stringify(compose.services["infra-nats"])).toContain("-js");
    for (const name of ["postgres", "nats", "redis"]) {
      expect(compose.services[`infra-${name}`]?.image).toBe(compose.services[name]?.image);
    }
  });
});

describe("Dockerfile", () => {
  const dockerfile = readFileSync("Dockerfile", "utf8");

  it("is multi-stage, runs as a non-root user and has a health check", () => {
    expect(dockerfile.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n?.*\/healthz/m);
  });

  it("applies the dependency patches before installing (patch-package runs at postinstall)", () => {
    const copyPatches = dockerfile.indexOf("COPY patches ./patches");
    expect(copyPatches).toBeGreaterThan(-1);
    expect(copyPatches).toBeLessThan(dockerfile.indexOf("RUN npm ci"));
  });

  it("runs the compiled JavaScript, with the command the compiled start-up test runs outside Docker", () => {
    // test/compiled-start.test.ts builds as the build stage does and starts `node dist/main.js`.
    expect(dockerfile).toContain("RUN npm run build");
    expect(dockerfile).toContain('CMD ["node", "dist/main.js"]');
    expect(dockerfile).not.toContain("tsx");
  });

  it("ships the admin UI's browser code and its bundler to the runtime stage", () => {
    // The server bundles src/admin/client at start (src/admin/admin-assets.ts) with esbuild.
    const runtime = dockerfile.slice(dockerfile.lastIndexOf("FROM "));
    expect(runtime).toContain("COPY src/admin/client ./src/admin/client");
    const manifest = JSON.parse(readFileSync("package.json", "utf8"));
    expect(manifest.dependencies.esbuild).toBeDefined();
    expect(manifest.dependencies.hono).toBeDefined();
  });

  it("is based on a supported Node LTS line, the same in every stage", () => {
    const bases = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((match) => match[1]);
    expect(new Set(bases)).toEqual(new Set(["node:24-bookworm-slim"]));
  });
});
