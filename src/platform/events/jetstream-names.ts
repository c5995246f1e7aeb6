/**
 * What the JetStream bus calls things on the broker: the stream of a deployment's namespace, the
 * consumers of durable groups and of private subscriptions, and the API error codes it tells
 * apart. Stable across releases: a durable group finds its place again by its consumer's name.
 */
import { createHash, randomUUID } from "node:crypto";

const NAMESPACE = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

export const ERR_STREAM_NOT_FOUND = 10059;
export const ERR_STREAM_NAME_IN_USE = 10058;
export const ERR_CONSUMER_NOT_FOUND = 10014;

/** Throws unless `namespace` can prefix subjects: dot-separated tokens of letters, digits, '-', '_'. */
export function assertValidNamespace(namespace: string): void {
  if (!NAMESPACE.test(namespace)) {
    throw new Error(`invalid namespace ${JSON.stringify(namespace)}: use letters, digits, '-', '_' and '.'`);
  }
}

/** The stream name of a namespace: `shop.eu` → `shop_eu_events`. */
export function streamNameFor(namespace: string): string {
  return `${sanitizeName(namespace)}_events`;
}

/** The JetStream consumer behind a durable group's subscription to one subject. */
export function durableConsumerName(namespace: string, durableName: string, subject: string): string {
  return `${sanitizeName(namespace)}_${sanitizeName(durableName)}_${shortHash(subject)}`;
}

/** A fresh name for the consumer of a subscription without a durable group. */
export function privateConsumerName(namespace: string, subject: string): string {
  return `${sanitizeName(namespace)}_sub_${randomUUID().slice(0, 8)}_${shortHash(subject)}`;
}

/** The JetStream API error code of a rejected request, if it is one. */
export function apiErrorCode(error: unknown): number | undefined {
  return (error as { api_error?: { err_code?: number } } | undefined)?.api_error?.err_code;
}

function sanitizeName(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, "_");
}

function shortHash(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 10);
}
