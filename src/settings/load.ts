import { readFile, access, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import type { z } from 'zod';
import { HalfwegError } from '../errors.js';
import { closest, describeIssues } from './issues.js';
import { checkCloudDevices } from '../aggregate/options.js';
import type { PointDetect } from '../detect/options.js';
import {
  configSchema,
  DEVICE_DEFAULTS,
  deviceSchema,
  simulatorSchema,
  type Config,
  type ConnectionConfig,
  type DeviceConfig,
  type SimulatorConfig,
} from './schema.js';
import { mqttSinkSchema, type MqttSinkConfig } from './sink-schema.js';
import { checkHttpFiles, checkSinkFiles } from './files.js';
import {
  profileSchemaFor,
  isSerialProfile,
  widthOf,
  isBitTable,
  type AnyProfileInput,
  type PointSpec,
  type ProfileInput,
  type PointOverride,
} from './profile-schema.js';
import { checkSerialProfile, resolveSerialDevice } from './serial-resolve.js';
import type { SerialDeviceSpec } from './serial-schema.js';

/** A device with its profile merged in: what sources and detectors work from. */
export interface DeviceSpec {
  readonly name: string;
  readonly profile: string;
  readonly model: string;
  readonly connection: ConnectionConfig;
  readonly unitId: number;
  readonly timeout: number;
  readonly retries: number;
  readonly backoff: { readonly initial: number; readonly max: number };
  readonly maxGap: number;
  readonly maxRegisters: number;
  readonly maxBits: number;
  /** Points grouped by poll interval; the group `default` uses the device's pollInterval. */
  readonly groups: readonly PollGroup[];
}

export interface PollGroup {
  readonly name: string;
  readonly interval: number;
  readonly points: readonly PointSpec[];
}

export interface Settings {
  readonly file: string;
  readonly config: Config;
  readonly devices: readonly DeviceSpec[];
  /** Devices with `connection: { type: serial }` and a `protocol: serial` profile (src/sources/serial/). */
  readonly serialDevices: readonly SerialDeviceSpec[];
  /** Directories searched for profiles, in order. */
  readonly profileDirs: readonly string[];
}

/** The package's own folder (holds `devices/` and `config/`), whether run from src/ or dist/. */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'devices'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the halfweg package root');
    dir = up;
  }
}

/** Known keys of the object schema found by following `keyPath`; for "did you mean" hints. */
function keysAt(schema: z.ZodType, keyPath: readonly PropertyKey[]): string[] {
  const unwrap = (s: z.ZodType): z.ZodType[] => {
    const def = (s as unknown as { _zod: { def: Record<string, unknown> & { type: string } } })._zod.def;
    switch (def.type) {
      case 'optional':
      case 'default':
      case 'prefault':
      case 'nullable':
        return unwrap(def['innerType'] as z.ZodType);
      case 'pipe':
        return unwrap(def['in'] as z.ZodType);
      case 'union':
        return (def['options'] as z.ZodType[]).flatMap(unwrap);
      default:
        return [s];
    }
  };
  let current = unwrap(schema);
  for (const key of keyPath) {
    const next: z.ZodType[] = [];
    for (const s of current) {
      const def = (s as unknown as { _zod: { def: Record<string, unknown> & { type: string } } })._zod.def;
      if (def.type === 'object') {
        const child = (def['shape'] as Record<string, z.ZodType>)[String(key)];
        if (child) next.push(...unwrap(child));
      } else if (def.type === 'array') next.push(...unwrap(def['element'] as z.ZodType));
      else if (def.type === 'record') next.push(...unwrap(def['valueType'] as z.ZodType));
      else if (def.type === 'tuple') next.push(...(def['items'] as z.ZodType[]).flatMap(unwrap));
    }
    current = next;
  }
  return current.flatMap((s) => {
    const def = (s as unknown as { _zod: { def: Record<string, unknown> & { type: string } } })._zod.def;
    return def.type === 'object' ? Object.keys(def['shape'] as object) : [];
  });
}

/** Read and parse a YAML file; syntax errors come back as `file:line:col: reason`. */
export async function readYaml(file: string, label: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new HalfwegError('HALFWEG_CONFIG_UNREADABLE', `${label}: cannot read: ${(err as Error).message}`);
  }
  const lineCounter = new YAML.LineCounter();
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true, lineCounter });
  if (doc.errors.length > 0) {
    const lines = doc.errors.map((e) => {
      const pos = e.linePos?.[0];
      return `${label}${pos ? `:${pos.line}:${pos.col}` : ''}: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`;
    });
    throw new HalfwegError('HALFWEG_CONFIG_INVALID', lines.join('\n'), lines);
  }
  try {
    // A copy (structuredClone): the parser's strings are slices of the file's text, so any one of
    // them kept (a profile's `model`, every point's `type`) kept the whole text for as long as the
    // agent runs (issue 15: a 5,000-point profile's 276 KB, seen in a heap snapshot). The copy's
    // strings are its own.
    return structuredClone(doc.toJS({ maxAliasCount: 100 }) ?? {});
  } catch (err) {
    // Building values fails on an alias without its anchor, or an alias bomb (issue 17.5).
    const lines: string[] = [];
    YAML.visit(doc, {
      Alias(_key, node) {
        if (node.resolve(doc) === undefined) {
          const pos = node.range ? lineCounter.linePos(node.range[0]) : undefined;
          lines.push(
            `${label}${pos ? `:${pos.line}:${pos.col}` : ''}: alias *${node.source} has no anchor &${node.source} before it`,
          );
        }
      },
    });
    if (!lines.length) {
      const message = (err as Error).message;
      lines.push(
        `${label}: ${/alias count/i.test(message) ? 'too many aliases (an alias expanding into a huge document is refused)' : message}`,
      );
    }
    throw new HalfwegError('HALFWEG_CONFIG_INVALID', lines.join('\n'), lines);
  }
}

export function validate<S extends z.ZodType>(
  schema: S,
  data: unknown,
  label: string,
): { value?: z.infer<S>; errors: string[] } {
  const result = schema.safeParse(data, { reportInput: true });
  if (result.success) return { value: result.data, errors: [] };
  return { errors: describeIssues(result.error.issues, (p) => keysAt(schema, p)).map((l) => `${label}: ${l}`) };
}

function displayPath(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith('..') ? rel : file;
}

/** A Modbus profile by name. A serial profile is an error here: Modbus devices and simulators use this. */
export async function loadProfile(
  name: string,
  dirs: readonly string[],
): Promise<{ profile: ProfileInput; file: string }> {
  const { profile, file } = await loadAnyProfile(name, dirs);
  if (isSerialProfile(profile)) {
    const line = `${displayPath(file)}: protocol: "${name}" is a serial profile; Modbus devices and simulators need a Modbus profile`;
    throw new HalfwegError('HALFWEG_PROFILE_INVALID', line, [line]);
  }
  return { profile, file };
}

/** A profile of either protocol by name, validated by the branch its `protocol` names. */
export async function loadAnyProfile(
  name: string,
  dirs: readonly string[],
): Promise<{ profile: AnyProfileInput; file: string }> {
  for (const dir of dirs) {
    for (const ext of ['.yaml', '.yml']) {
      const file = path.join(dir, name + ext);
      try {
        await access(file);
      } catch {
        continue;
      }
      const label = displayPath(file);
      const doc = await readYaml(file, label);
      const { value, errors } = validate(profileSchemaFor(doc), doc, label);
      if (!value) throw new HalfwegError('HALFWEG_PROFILE_INVALID', errors.join('\n'), errors);
      const checks = (
        isSerialProfile(value)
          ? checkSerialProfile(value)
          : checkPoints(value.points, Object.keys(value.groups ?? {}), 'points')
      ).map((l) => `${label}: ${l}`);
      if (checks.length) throw new HalfwegError('HALFWEG_PROFILE_INVALID', checks.join('\n'), checks);
      return { profile: value, file };
    }
  }
  const known = (await Promise.all(dirs.map((d) => readdir(d).catch(() => [] as string[]))))
    .flat()
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => f.replace(/\.ya?ml$/, ''));
  const hint = closest(name, known);
  throw new HalfwegError(
    'HALFWEG_PROFILE_NOT_FOUND',
    `device profile "${name}" not found${hint ? ` (did you mean "${hint}"?)` : ''}; looked in ${dirs.join(', ')}`,
  );
}

type AnyPoint = PointOverride;

/** A device's detector options for a point refine the profile's, section by section. */
function mergeDetect(base: PointDetect | undefined, over: PointDetect | undefined): PointDetect | undefined {
  if (!over) return base;
  if (!base) return over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = { ...(base as Record<string, object | undefined>)[k], ...v };
  return out as PointDetect;
}

/** A point with every default applied: the one place point defaults live. */
export function toPointSpec(name: string, p: PointOverride & Pick<PointSpec, 'table' | 'address'>): PointSpec {
  return {
    name,
    description: p.description ?? '',
    unit: p.unit ?? '',
    table: p.table,
    address: p.address,
    type: p.type ?? (isBitTable(p.table) ? 'bool' : 'uint16'),
    order: p.order ?? 'ABCD',
    scale: p.scale ?? 1,
    offset: p.offset ?? 0,
    range: p.range ? [p.range[0], p.range[1]] : null,
    precision: p.precision ?? null,
    limits: p.limits ?? {},
    detect: p.detect,
    group: p.group ?? 'default',
    writable: p.writable ?? false,
    writeRange: p.writable ? (p.writeRange ?? p.range ?? null) : null,
    writeFunction: p.writeFunction ?? 'single',
  };
}

/** Checks that need several fields at once; returns `path: reason` lines. */
function checkPoints(points: Record<string, AnyPoint>, groups: readonly string[], at: string): string[] {
  const errors: string[] = [];
  for (const [name, p] of Object.entries(points)) {
    const here = `${at}.${/^[A-Za-z0-9_-]+$/.test(name) ? name : JSON.stringify(name)}`;
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(name))
      errors.push(`${here}: point names are letters, digits, "_", "-" or "."`);
    if (p.table && p.type && isBitTable(p.table) && p.type !== 'bool') {
      errors.push(`${here}.type: a ${p.table} holds one bit; expected "bool", got ${JSON.stringify(p.type)}`);
    }
    if (p.table && p.type && !isBitTable(p.table) && p.type === 'bool') {
      errors.push(`${here}.type: "bool" needs table "coil" or "discrete"; registers are read as integers or floats`);
    }
    if (p.address !== undefined && p.type && p.address + widthOf(p.type) > 65536) {
      errors.push(`${here}.address: a ${p.type} at ${p.address} runs past register 65535`);
    }
    if (p.range && !(p.range[0] < p.range[1]))
      errors.push(`${here}.range: expected [min, max] with min < max, got [${p.range.join(', ')}]`);
    if (p.writeRange && !(p.writeRange[0] <= p.writeRange[1]))
      errors.push(`${here}.writeRange: expected [min, max] with min <= max, got [${p.writeRange.join(', ')}]`);
    if (p.writable && p.table && (p.table === 'input' || p.table === 'discrete')) {
      errors.push(
        `${here}.writable: ${p.table === 'input' ? 'an input register' : 'a discrete input'} cannot be written (Modbus writes coils and holding registers)`,
      );
    }
    if (p.writable && p.table !== 'coil' && !p.writeRange && !p.range) {
      errors.push(`${here}.writable: a writable register needs writeRange (or range): the values a write may set`);
    }
    if (p.limits) {
      const order = (['ll', 'l', 'h', 'hh'] as const).filter((k) => p.limits![k] !== undefined);
      for (let i = 1; i < order.length; i++) {
        if (p.limits[order[i - 1]!]! > p.limits[order[i]!]!) {
          errors.push(
            `${here}.limits: expected ll <= l <= h <= hh, but ${order[i - 1]} (${p.limits[order[i - 1]!]}) > ${order[i]} (${p.limits[order[i]!]})`,
          );
        }
      }
      if (p.limits.deadband !== undefined && p.limits.deadband < 0)
        errors.push(`${here}.limits.deadband: expected a number >= 0`);
    }
    if (p.scale === 0) errors.push(`${here}.scale: a scale of 0 turns every value into the offset`);
    if (p.group !== undefined && p.group !== 'default' && !groups.includes(p.group)) {
      errors.push(`${here}.group: no poll group "${p.group}"${groups.length ? ` (groups: ${groups.join(', ')})` : ''}`);
    }
  }
  return errors;
}

function resolveDevice(
  device: DeviceConfig & { readonly connection: ConnectionConfig },
  profile: ProfileInput,
  at: string,
): { spec?: DeviceSpec; errors: string[] } {
  const errors: string[] = [];
  const groupIntervals = new Map<string, number>([['default', device.pollInterval ?? DEVICE_DEFAULTS.pollInterval]]);
  for (const [g, v] of Object.entries(profile.groups ?? {})) groupIntervals.set(g, v.interval);
  for (const [g, v] of Object.entries(device.groups)) groupIntervals.set(g, v.interval);

  const merged: Record<string, AnyPoint> = {};
  for (const [name, p] of Object.entries(profile.points)) merged[name] = { ...p };
  for (const [name, o] of Object.entries(device.points)) {
    const base = merged[name];
    if (!base && (o.table === undefined || o.address === undefined) && o.enabled !== false) {
      errors.push(
        `${at}.points.${name}: profile "${device.profile}" has no point "${name}"; a new point needs at least table and address`,
      );
      continue;
    }
    merged[name] = {
      ...base,
      ...o,
      limits: o.limits ? { ...base?.limits, ...o.limits } : base?.limits,
      detect: mergeDetect(base?.detect, o.detect),
    };
  }
  const resolved: Record<string, AnyPoint> = {};
  for (const [name, p] of Object.entries(merged)) {
    if (p.enabled === false) continue;
    resolved[name] = { ...p, type: p.type ?? (p.table && isBitTable(p.table) ? 'bool' : 'uint16') };
  }
  errors.push(...checkPoints(resolved, [...groupIntervals.keys()], `${at}.points`));
  if (errors.length) return { errors };

  const groups = new Map<string, PointSpec[]>();
  for (const [name, p] of Object.entries(resolved)) {
    const spec = toPointSpec(name, p as AnyPoint & Pick<PointSpec, 'table' | 'address'>);
    const list = groups.get(spec.group) ?? [];
    list.push(spec);
    groups.set(spec.group, list);
  }
  return {
    errors,
    spec: {
      name: device.name,
      profile: device.profile,
      model: profile.model,
      connection: device.connection,
      unitId: device.unitId,
      timeout: device.timeout ?? DEVICE_DEFAULTS.timeout,
      retries: device.retries,
      backoff: device.backoff,
      maxGap: device.maxGap,
      maxRegisters: device.maxRegisters,
      maxBits: device.maxBits,
      groups: [...groups].map(([name, points]) => ({ name, interval: groupIntervals.get(name)!, points })),
    },
  };
}

/** Options of loadSettings. */
export interface LoadOptions {
  /**
   * Also check what a sink's start would refuse: files named by TLS and auth settings (present,
   * regular, readable by this user) and password variables. `run`, `demo`, SIGHUP and
   * check-config set it; `status` and `backlog`, which read the config for an address or a
   * directory only, do not.
   */
  readonly checkFiles?: boolean;
  /** Where `$CREDENTIALS_DIRECTORY` and `passwordEnv` come from; default process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** Unset password variables are problems (`run`), or notes returned to the caller (check-config in a shell). */
  readonly missingEnvIsProblem?: boolean;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The sections cross-references need, from a config that failed the schema: each device,
 * simulator and sink that validates on its own, at its own index. So one pass reports the
 * schema errors and every cross-reference problem of the rest (issue 17.9).
 */
function salvage(raw: unknown): Pick<Config, 'profileDirs' | 'cloud'> & {
  devices: [number, DeviceConfig][];
  simulators: [number, SimulatorConfig][];
  sinks: [string, MqttSinkConfig][];
  cloudValid: boolean;
} {
  const o = isRecord(raw) ? raw : {};
  const ok = <T>(schema: z.ZodType<T>, v: unknown): T | undefined => {
    const r = schema.safeParse(v);
    return r.success ? r.data : undefined;
  };
  const shape = configSchema().shape;
  const sinkSchema = mqttSinkSchema();
  const entries = <T>(list: unknown, schema: z.ZodType<T>): [number, T][] =>
    Array.isArray(list)
      ? list.flatMap((v, i) => {
          const d = ok(schema, v);
          return d === undefined ? [] : [[i, d] as [number, T]];
        })
      : [];
  const cloud = ok(shape.cloud, o['cloud']);
  return {
    profileDirs: ok(shape.profileDirs, o['profileDirs']) ?? [],
    devices: entries(o['devices'], deviceSchema()),
    simulators: entries(o['simulators'], simulatorSchema()),
    sinks: isRecord(o['sinks'])
      ? Object.entries(o['sinks']).flatMap(([n, v]) => {
          const c = ok(sinkSchema, v);
          return c ? [[n, c] as [string, MqttSinkConfig]] : [];
        })
      : [],
    cloud: cloud ?? ok(shape.cloud, {})!,
    cloudValid: cloud !== undefined,
  };
}

/** What loadSettings found besides problems: notes a human should read (check-config prints them). */
export interface LoadNotes {
  readonly notes: readonly string[];
}

/**
 * Read, validate and resolve a config file. Every problem is collected in one pass, each as
 * `file: path: reason` — schema, cross-references, profiles and (with `checkFiles`) the files and
 * variables the sinks need — and thrown together as HALFWEG_CONFIG_INVALID: the agent refuses to
 * start rather than run with a sensor silently missing.
 */
export async function loadSettings(file: string, options: LoadOptions = {}): Promise<Settings & LoadNotes> {
  const abs = path.resolve(file);
  const label = displayPath(abs);
  const raw = await readYaml(abs, label);
  const { value: config, errors } = validate(configSchema(), raw, label);
  const problems: string[] = [...errors];
  const notes: string[] = [];
  const parts = config
    ? {
        ...config,
        devices: [...config.devices.entries()],
        simulators: [...config.simulators.entries()],
        sinks: Object.entries(config.sinks),
        cloudValid: true,
      }
    : salvage(raw);

  const configDir = path.dirname(abs);
  const profileDirs = [
    ...parts.profileDirs.map((d) => path.resolve(configDir, d)),
    path.resolve(configDir, '..', 'devices'),
    path.join(packageRoot(), 'devices'),
  ].filter((d, i, all) => all.indexOf(d) === i);

  // Names from the raw file, so a duplicate is found even when the device has other errors.
  const rawDevices = isRecord(raw) && Array.isArray(raw['devices']) ? raw['devices'] : [];
  const seen = new Set<string>();
  rawDevices.forEach((d, i) => {
    const name = isRecord(d) ? d['name'] : undefined;
    if (typeof name !== 'string') return;
    if (seen.has(name))
      problems.push(`${label}: devices[${i}].name: "${name}" is used by an earlier device; names must be unique`);
    seen.add(name);
  });
  const ports = new Set<number>();
  for (const [i, s] of parts.simulators) {
    if (ports.has(s.port)) problems.push(`${label}: simulators[${i}].port: ${s.port} is used by an earlier simulator`);
    ports.add(s.port);
  }

  const devices: DeviceSpec[] = [];
  const serialDevices: SerialDeviceSpec[] = [];
  for (const [i, d] of parts.devices) {
    if (!d.enabled) continue;
    let profile: AnyProfileInput;
    try {
      profile = (await loadAnyProfile(d.profile, profileDirs)).profile;
    } catch (err) {
      if (err instanceof HalfwegError && err.code === 'HALFWEG_PROFILE_NOT_FOUND') {
        problems.push(`${label}: devices[${i}].profile: ${err.message}`);
        continue;
      }
      if (err instanceof HalfwegError) {
        problems.push(...(err.details.length ? err.details : [err.message]));
        continue;
      }
      throw err;
    }
    if (d.connection.type === 'serial' && !isSerialProfile(profile)) {
      problems.push(
        `${label}: devices[${i}].profile: "${d.profile}" is a Modbus profile; a serial connection needs a profile with protocol: serial`,
      );
      continue;
    }
    if (d.connection.type === 'serial' && isSerialProfile(profile)) {
      const { spec, errors: errs } = resolveSerialDevice({ ...d, connection: d.connection }, profile, `devices[${i}]`);
      problems.push(...errs.map((e) => `${label}: ${e}`));
      if (spec) serialDevices.push(spec);
      continue;
    }
    if (d.connection.type === 'serial' || isSerialProfile(profile)) {
      problems.push(
        `${label}: devices[${i}].connection.type: profile "${d.profile}" is a serial profile (protocol: serial); use connection type "serial"`,
      );
      continue;
    }
    const { spec, errors: errs } = resolveDevice({ ...d, connection: d.connection }, profile, `devices[${i}]`);
    problems.push(...errs.map((e) => `${label}: ${e}`));
    if (spec) devices.push(spec);
  }
  for (const [i, s] of parts.simulators) {
    try {
      await loadProfile(s.profile, profileDirs);
    } catch (err) {
      if (err instanceof HalfwegError && err.code === 'HALFWEG_PROFILE_NOT_FOUND')
        problems.push(`${label}: simulators[${i}].profile: ${err.message}`);
      else if (err instanceof HalfwegError) problems.push(...(err.details.length ? err.details : [err.message]));
      else throw err;
    }
  }
  if (parts.cloudValid) {
    const names = rawDevices.flatMap((d) => (isRecord(d) && typeof d['name'] === 'string' ? [d['name']] : []));
    problems.push(...checkCloudDevices(parts.cloud, names).map((l) => `${label}: ${l}`));
  }
  if (options.checkFiles) {
    const env = options.env ?? process.env;
    for (const [name, sink] of parts.sinks) {
      const found = await checkSinkFiles(name, sink, configDir, env);
      problems.push(...found.problems.map((l) => `${label}: ${l}`));
      (options.missingEnvIsProblem ? problems : notes).push(...found.notes.map((l) => `${label}: ${l}`));
    }
    if (config?.http.enabled)
      problems.push(...(await checkHttpFiles(config.http, configDir, env)).map((l) => `${label}: ${l}`));
  }
  if (problems.length || !config) {
    const unique = [...new Set(problems)];
    throw new HalfwegError('HALFWEG_CONFIG_INVALID', unique.join('\n'), unique);
  }
  return { file: abs, config, devices, serialDevices, profileDirs, notes };
}
