import { describe, expect, it } from "vitest";
import { InterruptibleSleep } from "./interruptible-sleep.js";

describe("InterruptibleSleep", () => {
  it("resolves after the given time when nobody interrupts it", async () => {
    const pause = new InterruptibleSleep();
    const started = Date.now();
    await pause.sleep(60);
    expect(Date.now() - started).toBeGreaterThanOrEqual(55);
  });

  it("ends the sleep in progress at once when interrupted", async () => {
    const pause = new InterruptibleSleep();
    const started = Date.now();
    const sleeping = pause.sleep(10_000);
    setTimeout(() => pause.interrupt(), 20);
    await sleeping;
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("does not cut short a sleep that starts after the interrupt", async () => {
    const pause = new InterruptibleSleep();
    pause.interrupt();
    await pause.sleep(10);
    const started = Date.now();
    const sleeping = pause.sleep(80);
    let ended = false;
    void sleeping.then(() => {
      ended = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(ended).toBe(false);
    await sleeping;
    expect(Date.now() - started).toBeGreaterThanOrEqual(75);
  });
});
