import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { linkedSignal } from "./linked-signal.js";

describe("linkedSignal", () => {
  it("aborts when any source aborts, with that source's reason", () => {
    for (const which of [0, 1]) {
      const sources = [new AbortController(), new AbortController()];
      const { signal } = linkedSignal(sources.map((source) => source.signal));
      expect(signal.aborted).toBe(false);
      sources[which]?.abort(`reason ${which}`);
      expect(signal.aborted).toBe(true);
      expect(signal.reason).toBe(`reason ${which}`);
    }
  });

  it("starts aborted when a source already is", () => {
    const stopping = new AbortController();
    stopping.abort("stopping");
    const { signal } = linkedSignal([new AbortController().signal, stopping.signal]);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe("stopping");
  });

  it("leaves nothing attached to a long-lived source once released, however many were linked", () => {
    const stopping = new AbortController();
    for (let request = 0; request < 1_000; request++) {
      const link = linkedSignal([new AbortController().signal, stopping.signal]);
      link.release();
      link.release();
    }
    expect(getEventListeners(stopping.signal, "abort")).toHaveLength(0);
    // Released, it no longer follows the source.
    const link = linkedSignal([stopping.signal]);
    link.release();
    stopping.abort();
    expect(link.signal.aborted).toBe(false);
  });

  it("detaches from every source once one has aborted it", () => {
    const stopping = new AbortController();
    const request = new AbortController();
    linkedSignal([request.signal, stopping.signal]);
    request.abort();
    expect(getEventListeners(stopping.signal, "abort")).toHaveLength(0);
  });
});
