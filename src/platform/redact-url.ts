/**
 * Hides the credentials of URLs in text meant for logs and error messages:
 * `nats://alice:s3cret@nats:4222` becomes `nats://***@nats:4222`. A user name alone is hidden too
 * (NATS and Redis take tokens in that place).
 */
const CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi;

export function redactUrl(text: string): string {
  return text.replace(CREDENTIALS, "$1***@");
}
