/**
 * The process configuration: parsed once from the environment at start, validated, and passed
 * down as a typed object. Nothing else in the codebase reads process.env.
 */
import { validate as isValidCron } from "node-cron";
import type { LogFormat } from "./logger.js";
import { redactUrl } from "./redact-url.js";
import { readTracingConfig, type TracingConfig } from "./tracing-config.js";

export const ALL_MODULES = ["inventory", "orders", "statistics", "gateway"] as const;
export type ModuleName = (typeof ALL_MODULES)[number];

/**
 * Few connections by default: concurrent orders on the same products wait on each other's row locks
 * inside PostgreSQL, where every wait costs a sleep and a wake-up; queued in the process instead,
 * they cost nothing (docs/operations.md, "PostgreSQL connections", measured there).
 */
export const DEFAULT_DATABASE_POOL_SIZE = 5;

export interface Config {
  port: number;
  host: string;
  /** A PostgreSQL server; undefined means the embedded one, its cluster under dataDir. */
  databaseUrl: string | undefined;
  dataDir: string;
  /** NATS with JetStream; undefined means the in-process event bus. */
  natsUrl: string | undefined;
  /** Redis as the second cache layer; undefined means in-memory only. */
  redisUrl: string | undefined;
  /** HS256 key; undefined means one generated once and kept in dataDir. */
  jwtSecret: string | undefined;
  modules: ReadonlySet<ModuleName>;
  inventoryUrl: string | undefined;
  ordersUrl: string | undefined;
  statisticsUrl: string | undefined;
  namespace: string;
  cacheRefreshCron: string;
  logLevel: string;
  /** `json` (one object per line, for machines) or `pretty` (for a person at a terminal). */
  logFormat: LogFormat;
  /** OpenTelemetry tracing; undefined (the default) when off. */
  tracing: TracingConfig | undefined;
  storeCurrency: string;
  /** How long taken stock waits for its order to be confirmed before it is released. */
  reservationTimeoutMs: number;
  /**
   * PostgreSQL connections this process's requests use at most (background work has a pool of its
   * own). docs/operations.md, "PostgreSQL connections".
   */
  databasePoolSize: number;
  /** Largest request body on every protocol, counted after decompression. */
  maxBodyBytes: number;
  /** Deadline of every gateway → module call, and the longest deadline a module accepts. */
  rpcTimeoutMs: number;
  /** An order still pending this long is cancelled by the system and its stock returns. */
  pendingOrderTtlMs: number;
  /** Pending orders one customer may hold at once. */
  maxPendingOrders: number;
  /** Origins whose pages may call the API from a browser (CORS); "*" for any; none by default. */
  corsOrigins: readonly string[];
}

/** Thrown for an invalid or contradictory setting; main prints its message as one line. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = "ConfigError";
  }
}

/** HS256 keys shorter than the hash (32 bytes) weaken it (RFC 7518 §3.2). */
export const MIN_SECRET_BYTES = 32;

/** Whether `secret` is too short to sign HS256 tokens with (HMAC itself takes any key, even ""). */
export function secretTooShort(secret: string): boolean {
  return Buffer.byteLength(secret) < MIN_SECRET_BYTES;
}

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

export function loadConfig(env: Record<string, string | undefined>): Config {
  const read = new EnvironmentReader(env);
  // Read in this order, so that of several bad settings the same one is reported first every time.
  const port = Number(
    read.checked(
      "PORT",
      "8080",
      (value) => /^\d+$/.test(value) && Number(value) <= 65535,
      "is not a port number (0–65535)",
    ),
  );
  const modules = parseModules(read.text("MODULES") ?? ALL_MODULES.join(","));
  const namespace = read.matching(
    "NAMESPACE",
    "ecommerce",
    /^[A-Za-z0-9_-]{1,64}$/,
    'must be 1–64 letters, digits, "_" or "-"',
  );
  const cacheRefreshCron = read.checked(
    "CACHE_REFRESH_CRON",
    "0 */12 * * *",
    isValidCron,
    "is not a cron expression",
  );
  const logLevel = read.checked(
    "LOG_LEVEL",
    "info",
    (level) => LOG_LEVELS.includes(level),
    `is not one of ${LOG_LEVELS.join(", ")}`,
  );
  const logFormat = read.matching(
    "LOG_FORMAT",
    "json",
    /^(json|pretty)$/,
    'is not "json" or "pretty"',
  ) as LogFormat;
  const jwtSecret = readJwtSecret(read);
  const storeCurrency = read.matching("STORE_CURRENCY", "USD", /^[A-Z]{3}$/, "is not an ISO 4217 code");
  const reservationTimeoutSeconds = read.wholeNumber("RESERVATION_TIMEOUT_SECONDS", 60, 1, 3600, "seconds");
  const maxBodyBytes = read.wholeNumber("MAX_BODY_BYTES", 1_048_576, 1024, 64 * 1024 * 1024, "bytes");
  const rpcTimeoutMs = read.wholeNumber("RPC_TIMEOUT_MS", 10_000, 100, 600_000, "milliseconds");
  const pendingOrderTtlSeconds = read.wholeNumber(
    "PENDING_ORDER_TTL_SECONDS",
    1800,
    1,
    30 * 24 * 3600,
    "seconds",
  );
  const maxPendingOrders = read.wholeNumber("MAX_PENDING_ORDERS", 20, 1, 100_000, "orders");
  const databasePoolSize = read.wholeNumber(
    "DATABASE_POOL_SIZE",
    DEFAULT_DATABASE_POOL_SIZE,
    1,
    1000,
    "connections",
  );
  const http = ["http:", "https:"];
  const moduleUrls: Record<Exclude<ModuleName, "gateway">, string | undefined> = {
    inventory: read.url("INVENTORY_URL", http),
    orders: read.url("ORDERS_URL", http),
    statistics: read.url("STATISTICS_URL", http),
  };
  const natsUrl = read.url("NATS_URL", ["nats:", "tls:", "ws:", "wss:"]);
  const databaseUrl = read.url("DATABASE_URL", ["postgres:", "postgresql:"]);
  checkTopology(modules, moduleUrls, { natsUrl, databaseUrl });
  const corsOrigins = parseCorsOrigins(read.text("CORS_ORIGINS"));
  return {
    port,
    host: read.text("HOST") ?? "0.0.0.0",
    databaseUrl,
    dataDir: read.text("DATA_DIR") ?? "./data",
    natsUrl,
    redisUrl: read.url("REDIS_URL", ["redis:", "rediss:"]),
    jwtSecret,
    modules,
    inventoryUrl: moduleUrls.inventory,
    ordersUrl: moduleUrls.orders,
    statisticsUrl: moduleUrls.statistics,
    namespace,
    cacheRefreshCron,
    logLevel,
    logFormat,
    tracing: readTracingConfig(read, modules),
    storeCurrency,
    reservationTimeoutMs: reservationTimeoutSeconds * 1000,
    databasePoolSize,
    maxBodyBytes,
    rpcTimeoutMs,
    pendingOrderTtlMs: pendingOrderTtlSeconds * 1000,
    maxPendingOrders,
    corsOrigins,
  };
}

/** Reads variables of the environment: blank counts as unset, and a bad value is a ConfigError. */
export class EnvironmentReader {
  constructor(private readonly env: Record<string, string | undefined>) {}

  /** The trimmed value, or undefined when unset or blank. */
  text(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value === undefined || value === "" ? undefined : value;
  }

  /** The value (or `fallback`) when `valid` accepts it; else "`name`: "value" `problem`". */
  checked(name: string, fallback: string, valid: (value: string) => boolean, problem: string): string {
    const value = this.text(name) ?? fallback;
    if (!valid(value)) throw new ConfigError(name, `"${value}" ${problem}`);
    return value;
  }

  matching(name: string, fallback: string, pattern: RegExp, problem: string): string {
    return this.checked(name, fallback, (value) => pattern.test(value), problem);
  }

  wholeNumber(name: string, fallback: number, min: number, max: number, unit: string): number {
    const value = this.text(name) ?? String(fallback);
    const parsed = Number(value);
    if (!/^\d+$/.test(value) || parsed < min || parsed > max) {
      throw new ConfigError(name, `"${value}" must be a whole number of ${unit}, ${min}–${max}`);
    }
    return parsed;
  }

  /** A URL of one of `protocols`, without trailing slashes; credentials never in the error. */
  url(name: string, protocols: string[]): string | undefined {
    const value = this.text(name);
    if (value === undefined) return undefined;
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      throw new ConfigError(name, `"${redactUrl(value)}" is not a URL`);
    }
    if (!protocols.includes(parsed.protocol)) {
      throw new ConfigError(name, `expected a ${protocols.join(" or ")} URL, got "${redactUrl(value)}"`);
    }
    return value.replace(/\/+$/, "");
  }
}

/**
 * CORS_ORIGINS: comma-separated origins, each exactly as a browser sends it in `Origin`
 * (`https://shop.example`, `http://localhost:5173`: scheme, host, port, nothing after), or `*`.
 */
function parseCorsOrigins(list: string | undefined): string[] {
  const origins = (list ?? "")
    .split(",")
    .map((origin) => origin.trim())
    .filter((origin) => origin !== "");
  for (const origin of origins) {
    if (origin === "*") continue;
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined || parsed.origin !== origin || !["http:", "https:"].includes(parsed.protocol)) {
      throw new ConfigError(
        "CORS_ORIGINS",
        `"${origin}" is not an origin (scheme://host[:port], no path or trailing slash)`,
      );
    }
  }
  return origins;
}

/** MODULES: a comma-separated list of known module names, at least one. */
function parseModules(list: string): ReadonlySet<ModuleName> {
  const names = list
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "");
  for (const name of names) {
    if (!(ALL_MODULES as readonly string[]).includes(name)) {
      throw new ConfigError("MODULES", `unknown module "${name}" (known: ${ALL_MODULES.join(", ")})`);
    }
  }
  if (names.length === 0) throw new ConfigError("MODULES", "names no module");
  return new Set(names as ModuleName[]);
}

function readJwtSecret(read: EnvironmentReader): string | undefined {
  const jwtSecret = read.text("JWT_SECRET");
  if (jwtSecret !== undefined && secretTooShort(jwtSecret)) {
    throw new ConfigError(
      "JWT_SECRET",
      `must be at least ${MIN_SECRET_BYTES} bytes (HS256 needs a key as long as its hash); e.g. openssl rand -base64 48`,
    );
  }
  return jwtSecret;
}

/** Which modules each one calls: they must be hosted here or reachable at their *_URL. */
const NEEDS: Record<ModuleName, readonly Exclude<ModuleName, "gateway">[]> = {
  gateway: ["inventory", "orders", "statistics"],
  orders: ["inventory"],
  inventory: [],
  statistics: [],
};

const URL_VARIABLE: Record<Exclude<ModuleName, "gateway">, string> = {
  inventory: "INVENTORY_URL",
  orders: "ORDERS_URL",
  statistics: "STATISTICS_URL",
};

/** Refuses a set of modules and URLs that cannot work together. */
function checkTopology(
  modules: ReadonlySet<ModuleName>,
  urls: Record<Exclude<ModuleName, "gateway">, string | undefined>,
  shared: { natsUrl: string | undefined; databaseUrl: string | undefined },
): void {
  for (const [name, variable] of Object.entries(URL_VARIABLE) as [Exclude<ModuleName, "gateway">, string][]) {
    if (modules.has(name) && urls[name] !== undefined) {
      throw new ConfigError(
        variable,
        `this process hosts ${name} (MODULES), so ${variable} must not point elsewhere`,
      );
    }
  }
  for (const module of modules) {
    for (const needed of NEEDS[module]) {
      if (!modules.has(needed) && urls[needed] === undefined) {
        throw new ConfigError(
          URL_VARIABLE[needed],
          `${module} needs ${needed}, which this process does not host: add it to MODULES or set ${URL_VARIABLE[needed]}`,
        );
      }
    }
  }
  const split = ALL_MODULES.some((name) => !modules.has(name));
  if (split && shared.natsUrl === undefined) {
    throw new ConfigError(
      "NATS_URL",
      "a split deployment (MODULES without every module) needs NATS for its events",
    );
  }
  if (split && shared.databaseUrl === undefined) {
    throw new ConfigError(
      "DATABASE_URL",
      "a split deployment (MODULES without every module) needs a shared PostgreSQL",
    );
  }
}
