/**
 * The Lua scripts that make RedisStore's `read` and `fill` atomic: the fill marker of an empty
 * key, and the compare-and-set fill (docs/cache-protocol.md, "Building blocks" and "(a)").
 * Each runs by EVALSHA, by EVAL when Redis answers NOSCRIPT (not loaded yet, or forgotten since).
 */
import { createHash } from "node:crypto";
import type { RedisClientType } from "@keyv/redis";

export interface Script {
  source: string;
  sha1: string;
}

function script(source: string): Script {
  return { source, sha1: createHash("sha1").update(source).digest("hex") };
}

/**
 * The marker of an empty key: KEYS[1] the key; ARGV: the new fill marker, its expiry in ms.
 * Installs the marker when the key holds nothing; returns what the key holds afterwards.
 */
export const MARK_SCRIPT = script(`
local current = redis.call('GET', KEYS[1])
if current then return current end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ARGV[1]
`);

/**
 * The conditional fill: KEYS[1] the key; ARGV: the expected text (never "nothing"), the new
 * value, the expiry in ms ("0": none). Returns 1 when written, 0 otherwise.
 */
export const FILL_SCRIPT = script(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[3] == '0' then
  redis.call('SET', KEYS[1], ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
return 1
`);

/** Runs `script` on the Redis key `redisKey` by EVALSHA; by EVAL when Redis does not have it. */
export async function runScript(
  client: RedisClientType,
  script: Script,
  redisKey: string,
  args: string[],
): Promise<unknown> {
  const options = { keys: [redisKey], arguments: args };
  try {
    return await client.evalSha(script.sha1, options);
  } catch (error) {
    if (!(error instanceof Error && error.message.startsWith("NOSCRIPT"))) throw error;
    return client.eval(script.source, options);
  }
}
