/**
 * LayeredCache's single flight: concurrent gets of a key share one flight (one L2 read, at most
 * one load). A flight can be sealed (a get then waits for the next flight instead of joining) and
 * marked stale (it still answers its gets but fills nothing). Why both exist:
 * docs/cache-protocol.md, "Building blocks".
 */

export interface Flight<T> {
  promise: Promise<T | undefined>;
  /** Raised by invalidate/set/clear: the result must not be put into L1 or L2. */
  stale: boolean;
  /** How many gets share this flight (for metrics). */
  waiters: number;
  /**
   * readThroughL2: raised when the flight issues its L2 read. A get that finds a sealed flight
   * does not join it (that read may have been answered before a write another process finished
   * before this get started); it starts or joins the flight that runs after it.
   */
  sealed: boolean;
  /** The sealed flight this one waits for before it starts (cleared when it starts). */
  previous: Flight<T> | undefined;
}

/** What a flight does: reads and loads `key`, filling nothing once `flight.stale` is raised. */
export type Fly<T> = (key: string, flight: Flight<T>) => Promise<T | undefined>;

/** The open flight of each key. */
export class Flights<T> {
  readonly #flights = new Map<string, Flight<T>>();
  readonly #fly: Fly<T>;

  constructor(fly: Fly<T>) {
    this.#fly = fly;
  }

  /** Joins the key's open flight, or starts one (after the open one, when that one is sealed). */
  join(key: string): Promise<T | undefined> {
    let flight = this.#flights.get(key);
    if (flight === undefined || flight.sealed) flight = this.#start(key, flight);
    flight.waiters++;
    return flight.promise;
  }

  /** A flight has finished: later gets of its key start a new one. */
  landed(key: string, flight: Flight<T>): void {
    if (this.#flights.get(key) === flight) this.#flights.delete(key);
  }

  /** Keeps the key's open flight from filling anything; later gets start a new one. */
  markStale(key: string): void {
    const flight = this.#flights.get(key);
    if (flight !== undefined) {
      markStale(flight);
      this.#flights.delete(key);
    }
  }

  /** `markStale` for every key. */
  markAllStale(): void {
    for (const flight of this.#flights.values()) markStale(flight);
    this.#flights.clear();
  }

  /** Starts a flight for `key`; after `previous` settles when given (a sealed flight). */
  #start(key: string, previous: Flight<T> | undefined): Flight<T> {
    const flight: Flight<T> = {
      promise: Promise.resolve(undefined),
      stale: false,
      waiters: 0,
      sealed: false,
      previous,
    };
    this.#flights.set(key, flight);
    flight.promise = previous === undefined ? this.#fly(key, flight) : this.#flyAfter(key, flight, previous);
    return flight;
  }

  async #flyAfter(key: string, flight: Flight<T>, previous: Flight<T>): Promise<T | undefined> {
    try {
      await previous.promise;
    } catch {
      // Its callers see its error; this flight reads (and loads) on its own.
    }
    flight.previous = undefined;
    return this.#fly(key, flight);
  }
}

/** Keeps a flight (and the sealed flight it waits for) from filling anything. */
function markStale<T>(flight: Flight<T>): void {
  flight.stale = true;
  if (flight.previous !== undefined) flight.previous.stale = true;
}
