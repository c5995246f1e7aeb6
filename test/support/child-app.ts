/**
 * Runs the platform as `npm start` does, as a child process (`node --import tsx src/main.ts`, so
 * the PID is the server's), and reads what it prints.
 */
import { type ChildProcess, spawn } from "node:child_process";

export interface ChildApp {
  process: ChildProcess;
  /** Everything printed on stdout so far. */
  output(): string;
  /** Sends a signal and resolves with the exit code and how long the exit took. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; elapsedMs: number }>;
}

export async function startChildApp(
  env: Record<string, string>,
  readyPattern = /listening on/,
): Promise<ChildApp> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    env: { ...process.env, LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready after 60 s:\n${stdout}\n${stderr}`)), 60_000);
    const poll = setInterval(() => {
      if (readyPattern.test(stdout)) {
        clearInterval(poll);
        clearTimeout(timer);
        resolve();
      }
    }, 20);
    child.once("exit", (code) => {
      clearInterval(poll);
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before ready:\n${stdout}\n${stderr}`));
    });
  });
  return {
    process: child,
    output: () => stdout,
    stop: async (signal = "SIGTERM") => {
      const started = Date.now();
      if (child.exitCode !== null) return { code: child.exitCode, elapsedMs: 0 };
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
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", script], {
    env: { ...process.env, LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  return { code, stdout, stderr };
}
