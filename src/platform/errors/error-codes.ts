/**
 * The string `code`s along an error's `cause` chain, outermost first (Node's errno codes, the
 * database driver's codes and SQLSTATEs, …): wrappers such as drizzle's query error or a
 * ConnectError keep the error that says what happened as their cause.
 */
export function errorCodes(error: unknown, maxDepth = 10): string[] {
  const codes: string[] = [];
  let current = error;
  for (let depth = 0; current instanceof Object && depth < maxDepth; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") codes.push(code);
    current = (current as { cause?: unknown }).cause;
  }
  return codes;
}
