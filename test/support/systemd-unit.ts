/**
 * The environment a systemd unit gives its process: its `Environment=` lines, as `KEY=value`
 * words (quoted words and specifiers are not used in our units). The service test and the peers
 * benchmark start the agent with it, so both run the agent as installed.
 */
export function unitEnvironment(unit: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const m of unit.matchAll(/^Environment=(.*)$/gm)) {
    for (const word of m[1]!.trim().split(/\s+/)) {
      const eq = word.indexOf('=');
      if (eq > 0) env[word.slice(0, eq)] = word.slice(eq + 1);
    }
  }
  return env;
}
