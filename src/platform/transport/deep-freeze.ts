/**
 * The check behind the in-process transport's freezeMessages option: messages crossing a module
 * boundary are handed over, not copied (in-process-transport.ts), so tests and development freeze
 * them to make code that writes to one it does not own throw.
 */

/**
 * Freezes a message and every object and array inside it, so that writing to it throws a TypeError
 * in strict-mode code. Typed arrays (bytes fields) cannot be frozen and stay writable.
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !ArrayBuffer.isView(value)) {
    Object.freeze(value);
    // Messages are trees, so this terminates; already frozen parts are walked again on purpose,
    // because a shallow freeze by someone else says nothing about what is inside.
    for (const child of Object.values(value)) {
      deepFreeze(child);
    }
  }
  return value;
}
