/**
 * Runs the platform as `npm start` does, as a child process (`node --import tsx src/main.ts`, so
 * the PID is the server's), and reads what it prints.
 */
import { type ChildProcess, spawn } from "node:child_process";
import net from "node:net";

export interface ChildApp {
  process: ChildProcess;
  /** The environment it was started with (on top of this process's), to start it again alike. */
  env: Record<string, string>;
  /** The base URL it printed (`… listening on <url>`), e.g. `http://127.0.0.1:41565`. */
  url: string;
  /** The port it listens on (the real one when started with PORT=0). */
  port: number;
  /** Everything printed on stdout so far. */
  output(): string;
  /** Everything printed on stderr so far. */
  errors(): string;
  /** Sends a signal and resolves with the exit code and how long the exit took. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; elapsedMs: number }>;
}

const LISTENING = /listening on (http:\/\/\S+)/;

/** Another user to run as (the caller must be root). */
export interface RunAs {
  uid: number;
  gid: number;
}

/** `script` under src/ runs through tsx; compiled JavaScript (dist/) runs as it is. */
function spawnOurs(env: Record<string, string>, script: string, args: string[] = [], runAs?: RunAs) {
  const command = script.endsWith(".ts") ? ["--import", "tsx", script, ...args] : [script, ...args];
  const child = spawn(process.execPath, command, {
    ...runAs,
    env: { ...process.env, LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const printed = { stdout: "", stderr: "" };
  child.stdout?.on("data", (chunk: Buffer) => {
    printed.stdout += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    printed.stderr += chunk.toString();
  });
  return { child, printed };
}

export async function startChildApp(
  env: Record<string, string>,
  readyPattern = /listening on/,
  script = "src/main.ts",
  runAs?: RunAs,
): Promise<ChildApp> {
  const { child, printed } = spawnOurs(env, script, [], runAs);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`not ready after 60 s:\n${printed.stdout}\n${printed.stderr}`));
    }, 60_000);
    const poll = setInterval(() => {
      if (readyPattern.test(printed.stdout)) {
        clearInterval(poll);
        clearTimeout(timer);
        child.off("exit", onExit);
        resolve();
      }
    }, 20);
    const onExit = (code: number | null) => {
      clearInterval(poll);
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before ready:\n${printed.stdout}\n${printed.stderr}`));
    };
    child.once("exit", onExit);
  });
  const url = LISTENING.exec(printed.stdout)?.[1]?.replace("//localhost:", "//127.0.0.1:") ?? "";
  return {
    process: child,
    env,
    url,
    port: url === "" ? 0 : Number(new URL(url).port),
    output: () => printed.stdout,
    errors: () => printed.stderr,
    stop: async (signal = "SIGTERM") => {
      const started = Date.now();
      if (child.exitCode !== null || child.signalCode !== null) return { code: child.exitCode, elapsedMs: 0 };
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      child.kill(signal);
      const code = await exited;
      return { code, elapsedMs: Date.now() - started };
    },
  };
}

/** Runs a command of ours (the start command by default) to completion, with its exit code and output. */
export async function runChildToExit(
  env: Record<string, string>,
  script = "src/main.ts",
  args: string[] = [],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { child, printed } = spawnOurs(env, script, args);
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  return { code, ...printed };
}

/**
 * TCP ports free right now on 127.0.0.1, all different, for processes others must know the
 * address of before they have started (so that every process of a topology can start at once).
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => net.createServer());
  await Promise.all(
    servers.map(
      (server) =>
        new Promise<void>((resolve, reject) => {
          server.once("error", reject);
          server.listen(0, "127.0.0.1", resolve);
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as net.AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  return ports;
}
