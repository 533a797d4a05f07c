import path from 'node:path';
import { loadAnyProfile, loadProfile, packageRoot, toPointSpec } from '../../settings/load.js';
import type { AnyProfileInput, PointSpec, ProfileInput } from '../../settings/profile-schema.js';

/** Short names for the built-in profiles on the command line. */
export const PROFILE_ALIASES: Readonly<Record<string, string>> = {
  boiler: 'steam-boiler',
  generator: 'generator-set',
  genset: 'generator-set',
};

/**
 * Find and validate a profile given as an alias (`boiler`), a name in the built-in `devices/`
 * (`steam-boiler`), or a path to a YAML file (anything with a `/` or a .yaml/.yml ending).
 * Throws HALFWEG_PROFILE_NOT_FOUND or HALFWEG_PROFILE_INVALID like the agent's loader.
 */
export async function findProfile(
  nameOrPath: string,
  cwd = process.cwd(),
): Promise<{ name: string; profile: ProfileInput; file: string }> {
  if (/[\\/]/.test(nameOrPath) || /\.ya?ml$/i.test(nameOrPath)) {
    const abs = path.resolve(cwd, nameOrPath);
    const name = path.basename(abs).replace(/\.ya?ml$/i, '');
    const { profile, file } = await loadProfile(name, [path.dirname(abs)]);
    return { name, profile, file };
  }
  const name = PROFILE_ALIASES[nameOrPath] ?? nameOrPath;
  const { profile, file } = await loadProfile(name, [path.join(packageRoot(), 'devices')]);
  return { name, profile, file };
}

/** Like findProfile, for any protocol (the serial instrument simulator needs serial profiles). */
export async function findAnyProfile(
  nameOrPath: string,
  cwd = process.cwd(),
): Promise<{ name: string; profile: AnyProfileInput; file: string }> {
  const byPath = /[\\/]/.test(nameOrPath) || /\.ya?ml$/i.test(nameOrPath);
  const abs = path.resolve(cwd, nameOrPath);
  const name = byPath ? path.basename(abs).replace(/\.ya?ml$/i, '') : (PROFILE_ALIASES[nameOrPath] ?? nameOrPath);
  const { profile, file } = await loadAnyProfile(name, [
    byPath ? path.dirname(abs) : path.join(packageRoot(), 'devices'),
  ]);
  return { name, profile, file };
}

/**
 * The profile's points with the loader's defaults applied (type from the table, ABCD, scale 1,
 * offset 0). The simulator serves a profile as the device would hold it, before any per-site
 * override in a config.
 */
export function profilePoints(profile: ProfileInput): PointSpec[] {
  return Object.entries(profile.points)
    .filter(([, p]) => p.enabled !== false)
    .map(([name, p]) => toPointSpec(name, p));
}
