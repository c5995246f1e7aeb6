/**
 * Background jobs that run on an interval, each run isolated from the others' failures.
 *
 * The gateway, the modules and the composition root use this subsystem only through this file
 * (a dependency-cruiser rule); files inside the platform import each other directly.
 */
export { attemptEach, type IntervalJob, startIntervalJob } from "./interval-job.js";
