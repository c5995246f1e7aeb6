/**
 * A hand-written statement whose text depends only on its shape (how many lines an order has, how
 * many events it appends), written once with `sql.placeholder(name)` wherever a value goes. Its
 * text is built through drizzle once per shape and database, as one of drizzle's own prepared
 * queries, and each run then passes only the values. Building the reservation's statement through
 * drizzle on every call cost ~35 µs of CPU (its nested fragments walked, its table names escaped),
 * a visible part of an order (BENCHMARKS.md, "No async traces, statements built once per shape").
 *
 * For statements run on the database itself, not inside a transaction: a transaction has a
 * session of its own, so its statements would be built again for each one.
 */
import type { SQL } from "drizzle-orm";
import { PgDialect } from "drizzle-orm/pg-core";
import type { Db } from "./database.js";
import { rowsOf } from "./raw-rows.js";

const dialect = new PgDialect();

type Session = Db["_"]["session"];
type Prepared = ReturnType<Session["prepareQuery"]>;

export class ShapedStatement<Shape> {
  readonly #prepared = new WeakMap<Session, Map<string, Prepared>>();

  /**
   * @param build the statement of one shape, with a placeholder wherever a value goes.
   * @param keyOf names a shape; a statement has a bounded number of them.
   */
  constructor(
    private readonly build: (shape: Shape) => SQL,
    private readonly keyOf: (shape: Shape) => string,
  ) {}

  /** Runs the statement of `shape` with `values` (by placeholder name) and answers its rows. */
  async rows<Row>(db: Db, shape: Shape, values: Record<string, unknown>): Promise<Row[]> {
    const session = db._.session;
    let byShape = this.#prepared.get(session);
    if (byShape === undefined) {
      byShape = new Map();
      this.#prepared.set(session, byShape);
    }
    const key = this.keyOf(shape);
    let prepared = byShape.get(key);
    if (prepared === undefined) {
      prepared = session.prepareQuery(dialect.sqlToQuery(this.build(shape)), undefined, undefined, false);
      byShape.set(key, prepared);
    }
    return rowsOf<Row>(await prepared.execute(values));
  }
}
