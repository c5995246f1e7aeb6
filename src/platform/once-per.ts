/**
 * `make`, run once per object: its result is kept as long as the object lives (a WeakMap). For
 * what is built from an immutable value and asked for again and again (a cached product's
 * response message), or set up once per owner (a registry's instruments).
 */
export function oncePer<K extends object, V>(make: (key: K) => V): (key: K) => V {
  const made = new WeakMap<K, V>();
  return (key) => {
    let value = made.get(key);
    if (value === undefined) {
      value = make(key);
      made.set(key, value);
    }
    return value;
  };
}
