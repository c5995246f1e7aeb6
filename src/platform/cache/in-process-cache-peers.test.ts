/**
 * InProcessCachePeers: the copies of one process hear every forget of their cache's name before
 * `forget` returns (no turn of the event loop in between), and only of their name.
 */
import { describe, expect, it } from "vitest";
import { InProcessCachePeers } from "./in-process-cache-peers.js";

describe("InProcessCachePeers", () => {
  it("a forget reaches every listener of the name before it returns, and no other name's", () => {
    const peers = new InProcessCachePeers();
    const heard: string[] = [];
    peers.listen("products", (keys) => heard.push(`a:${keys?.join(",")}`));
    peers.listen("products", (keys) => heard.push(`b:${keys?.join(",")}`));
    peers.listen("orders", (keys) => heard.push(`orders:${keys?.join(",")}`));
    const forgotten = peers.forget("products", ["1", "2"]);
    expect(heard).toEqual(["a:1,2", "b:1,2"]);
    peers.forgetHere("products", ["3"]);
    expect(heard).toEqual(["a:1,2", "b:1,2", "a:3", "b:3"]);
    // undefined: everything.
    peers.forgetHere("products", undefined);
    expect(heard).toEqual(["a:1,2", "b:1,2", "a:3", "b:3", "a:undefined", "b:undefined"]);
    return expect(forgotten).resolves.toBeUndefined();
  });

  it("is always in sync, spans no other process, and a stopped listener hears nothing more", () => {
    const peers = new InProcessCachePeers();
    expect(peers.inSync()).toBe(true);
    expect(peers.spansProcesses).toBe(false);
    const heard: (readonly string[] | undefined)[] = [];
    const stop = peers.listen("products", (keys) => heard.push(keys));
    stop();
    peers.forgetHere("products", ["1"]);
    expect(heard).toEqual([]);
  });
});
