import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Tests talk to real peers (pymodbus, socat, mosquitto, child processes): give them room,
    // but keep files isolated so one slow peer cannot starve another's ports.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
