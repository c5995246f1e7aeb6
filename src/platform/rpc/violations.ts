/**
 * Collects field violations while a request is checked, so the caller learns about every wrong
 * field at once instead of one per round trip.
 */
import { invalidArgument, type Violation } from "./errors.js";

export class Violations {
  private readonly list: Violation[] = [];

  add(field: string, message: string): void {
    this.list.push({ field, message });
  }

  /** Checks 1 ≤ length ≤ max (in characters) when required, length ≤ max otherwise. */
  text(field: string, value: string, max: number, options: { required: boolean }): void {
    const length = [...value].length;
    if (options.required && value.trim() === "") this.add(field, "must not be empty");
    else if (length > max) this.add(field, `must be at most ${max} characters`);
  }

  /** Checks min ≤ value ≤ max for an integer (number or bigint), naming the bound that was crossed. */
  range(field: string, value: number | bigint, min: number | bigint, max: number | bigint): void {
    if (value < min) this.add(field, `must be at least ${min}`);
    else if (value > max) this.add(field, `must be at most ${max}`);
  }

  /** Throws invalid_argument when any violation was recorded. */
  throwIfAny(): void {
    if (this.list.length > 0) throw invalidArgument(this.list);
  }
}
