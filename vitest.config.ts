import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Tests talk to real peers (pymodbus, socat, mosquitto, child processes): give them room,
    // but keep files isolated so one slow peer cannot starve another's ports.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'suite',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/chaos/**'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        // The chaos run judges recovery times (10 s after a fault ends). Sharing two cores with
        // the browser and peer tests starved it into 20 s recoveries on a loaded CI machine, so it
        // runs after the rest, alone: it measures the agent, not the neighbours.
        extends: true,
        test: { name: 'chaos', include: ['test/chaos/**/*.test.ts'], sequence: { groupOrder: 1 } },
      },
    ],
  },
});
