/**
 * Ending a span with the work it covers: once `work` settles, the span ends; a failure is
 * described on the span first (`onFailure`, by default an error status with the error's message)
 * and passed on unchanged.
 */
import { type Span, SpanStatusCode } from "@opentelemetry/api";

export async function endedWith<T>(
  span: Span,
  work: Promise<T>,
  onFailure: (span: Span, error: unknown) => void = markFailed,
): Promise<T> {
  try {
    return await work;
  } catch (error) {
    onFailure(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** An error status with the error's message. */
export function markFailed(span: Span, error: unknown): void {
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof Error ? error.message : String(error),
  });
}
