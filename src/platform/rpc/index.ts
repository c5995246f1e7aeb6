/**
 * What every RPC shares: Connect errors with the API's error reasons, field violations, page tokens and
 * time cursors, request ids, the text checks every request message passes, and how long a stream lasts.
 *
 * The gateway, the modules and the composition root use this subsystem only through this file
 * (a dependency-cruiser rule); files inside the platform import each other directly.
 */
export { businessError, echo, invalidArgument, notFound } from "./errors.js";
export { fromItemError, type ItemAnswer, itemAnswers, toItemError } from "./item-error.js";
export { decodePageToken, encodePageToken, fetchPage, resolvePageSize } from "./page-token.js";
export { REQUEST_ID_HEADER, requestIdFrom } from "./request-id.js";
export { LONGEST_STREAM_MS } from "./stream-deadline.js";
export { textCheckingRouter } from "./text-checking-router.js";
export { decodeTimeCursor, encodeTimeCursor, type TimeCursor, timeCursorOf } from "./time-cursor.js";
export { Violations } from "./violations.js";
