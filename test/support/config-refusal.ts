/** What loadConfig says when it refuses an environment: the variable it names and its message. */
import { ConfigError, loadConfig } from "../../src/platform/config.js";

export function configRefusal(env: Record<string, string>): { variable: string; message: string } {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return { variable: error.variable, message: error.message };
    throw error;
  }
  throw new Error("expected a configuration error");
}
