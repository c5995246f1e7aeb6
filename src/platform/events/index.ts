/**
 * Events between modules: the transactional outbox a module writes in its own statements, the
 * relay that publishes it, and the two buses (in-process, NATS JetStream) that deliver it.
 *
 * The gateway, the modules and the composition root use this subsystem only through this file
 * (a dependency-cruiser rule); files inside the platform import each other directly.
 */
export type { DeliveredEvent, EventBus, Subscription } from "./event-bus.js";
export { createInProcessBus } from "./in-process-bus.js";
export { createJetStreamBus, resetDurableGroup } from "./jetstream-bus.js";
export {
  appendToOutbox,
  type NewOutboxEvent,
  outboxPlaceholders,
  outboxPlaceholderValues,
} from "./outbox.js";
export { OutboxRelay } from "./outbox-relay.js";
export { defineOutboxTable } from "./outbox-table.js";
