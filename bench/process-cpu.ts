/** Where the benches read CPU time: processes by pid from /proc, PostgreSQL backends by database. */
import { readdirSync, readFileSync } from "node:fs";
import type postgres from "postgres";

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ; 100 on Linux for every architecture we run). */
export const TICKS_PER_SECOND = 100;

/** user + sys ticks of a process (every thread), undefined once it is gone. */
export function cpuTicks(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name may hold spaces: fields are counted after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

/** The pids of the processes whose command name is `name` (e.g. the shared redis-server). */
export function pidsNamed(name: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, "utf8").trim() === name) pids.push(Number(entry));
    } catch {
      // Exited meanwhile.
    }
  }
  return pids;
}

/** PostgreSQL backends connected to one database, asked of the server itself. */
export function backendsOf(sql: postgres.Sql, databaseUrl: string): () => Promise<number[]> {
  const name = new URL(databaseUrl).pathname.slice(1);
  return async () =>
    (await sql<{ pid: number }[]>`select pid from pg_stat_activity where datname = ${name}`).map(
      (row) => row.pid,
    );
}
