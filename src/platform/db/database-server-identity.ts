/**
 * Which PostgreSQL server a process stores its data on, as a string two processes can compare:
 * the cluster's system identifier and the moment its postmaster started, in microseconds. Every
 * process connected to the same running server reads the same string, whichever database of it
 * each uses. A copy of the data directory (a clone, a restored backup) keeps the identifier but is
 * started on its own, at another microsecond, so it reads another string. What the comparison is
 * for: docs/guarantees.md, "A reservation's commit".
 */
import type postgres from "postgres";

/** `<system identifier>:<postmaster start, µs since the epoch>`; undefined when it cannot be read. */
export async function readServerIdentity(sql: postgres.Sql): Promise<string | undefined> {
  try {
    const [row] = await sql<{ identity: string }[]>`
      select system_identifier::text || ':' ||
        (extract(epoch from pg_postmaster_start_time()) * 1000000)::bigint::text as identity
      from pg_control_system()`;
    return row?.identity;
  } catch {
    // A server that does not answer it (an old or unusual one): no process claims to share it.
    return undefined;
  }
}
