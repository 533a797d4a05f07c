import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LevelStore } from '../../src/store/level-store.js';
import { silentLogger } from '../../src/ops/log.js';
import { storeContract } from './contract.js';

storeContract('LevelStore', async () => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'halfweg-store-'));
  return {
    make: (config) => new LevelStore({ dir: path.join(root, 'store'), config, log: silentLogger() }),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});
