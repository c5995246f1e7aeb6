/**
 * Concurrent calls coalesced into one batch: one statement or one RPC for many callers.
 *
 * The gateway, the modules and the composition root use this subsystem only through this file
 * (a dependency-cruiser rule); files inside the platform import each other directly.
 */
export { CoalescingBatcher } from "./coalescing-batcher.js";
export { loneOrTogether } from "./lone-or-together.js";
