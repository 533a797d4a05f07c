import { DEVICE_DEFAULTS, type DeviceConfig } from './schema.js';
import type { PointOverride } from './profile-schema.js';
import {
  groupNames,
  resolveChecksum,
  type SerialConnectionConfig,
  type SerialDeviceSpec,
  type SerialMode,
  type SerialPointInput,
  type SerialPointSpec,
  type SerialProfileInput,
} from './serial-schema.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

function at(base: string, name: string): string {
  return `${base}.${/^[A-Za-z0-9_-]+$/.test(name) ? name : JSON.stringify(name)}`;
}

/** Checks on one point that need several fields or the profile's parser; `path: reason` lines. */
function checkPoint(profile: SerialProfileInput, name: string, p: SerialPointInput, here: string): string[] {
  const errors: string[] = [];
  const parser = profile.parser;
  if (!NAME.test(name)) errors.push(`${here}: point names are letters, digits, "_", "-" or "."`);
  if (p.column !== undefined && parser.type !== 'csv')
    errors.push(`${here}.column: only a csv parser has columns; use "field" with a ${parser.type} parser`);
  if (p.column !== undefined && p.field !== undefined) errors.push(`${here}: give "field" or "column", not both`);
  const field = p.field ?? name;
  if (parser.type === 'regex' && p.column === undefined) {
    const groups = groupNames(parser.pattern);
    if (!groups.includes(field)) {
      errors.push(
        `${here}.field: the pattern has no named group "${field}"${groups.length ? ` (groups: ${groups.join(', ')})` : ''}`,
      );
    }
  }
  if (parser.type === 'csv' && p.column === undefined) {
    if (!parser.columns) errors.push(`${here}: a csv parser without "columns" needs "column: <index>" on every point`);
    else if (!parser.columns.includes(field))
      errors.push(`${here}.field: no csv column "${field}" (columns: ${parser.columns.join(', ')})`);
  }
  if (p.range && !(p.range[0] < p.range[1]))
    errors.push(`${here}.range: expected [min, max] with min < max, got [${p.range.join(', ')}]`);
  if (p.limits) {
    const order = (['ll', 'l', 'h', 'hh'] as const).filter((k) => p.limits![k] !== undefined);
    for (let i = 1; i < order.length; i++) {
      const a = order[i - 1]!;
      const b = order[i]!;
      if (p.limits[a]! > p.limits[b]!)
        errors.push(`${here}.limits: expected ll <= l <= h <= hh, but ${a} (${p.limits[a]}) > ${b} (${p.limits[b]})`);
    }
    if (p.limits.deadband !== undefined && p.limits.deadband < 0)
      errors.push(`${here}.limits.deadband: expected a number >= 0`);
  }
  if (p.scale === 0) errors.push(`${here}.scale: a scale of 0 turns every value into the offset`);
  return errors;
}

/**
 * Checks across a serial profile's sections, run when the profile is loaded. Returns
 * `path: reason` lines like the schema's.
 */
export function checkSerialProfile(profile: SerialProfileInput): string[] {
  const errors: string[] = [];
  if (profile.parser.type === 'regex') {
    try {
      new RegExp(profile.parser.pattern, profile.parser.flags);
      if (groupNames(profile.parser.pattern).length === 0)
        errors.push('parser.pattern: has no named groups; name each value, e.g. (?<o2>[0-9.]+)');
    } catch (err) {
      errors.push(`parser.pattern: not a valid regular expression: ${(err as Error).message}`);
    }
  }
  if (profile.checksum) {
    const c = resolveChecksum(profile.checksum);
    if (c.encoding === 'binary' && profile.framing.type === 'line') {
      errors.push(
        'checksum.encoding: a binary checksum can contain the line delimiter; use "hex", or stx-etx / fixed framing',
      );
    }
  }
  if (profile.framing.type === 'stx-etx' && profile.framing.stx === profile.framing.etx)
    errors.push('framing.etx: must differ from stx');
  if (Object.keys(profile.points).length === 0) errors.push('points: a profile needs at least one point');
  for (const [name, p] of Object.entries(profile.points))
    errors.push(...checkPoint(profile, name, p, at('points', name)));
  return errors;
}

/** Fields of a device point override that only mean something for Modbus. */
const MODBUS_ONLY = ['table', 'address', 'type', 'order', 'group', 'writable', 'writeRange', 'writeFunction'] as const;

/**
 * Merge a serial device's config with its profile. A pollInterval or timeout set on the device
 * wins over the profile's, the profile's over DEVICE_DEFAULTS (the schema leaves both absent when
 * the config does not write them).
 */
export function resolveSerialDevice(
  device: DeviceConfig & { connection: SerialConnectionConfig },
  profile: SerialProfileInput,
  base: string,
): { spec?: SerialDeviceSpec; errors: string[] } {
  const errors: string[] = [];
  const merged: Record<string, SerialPointInput> = {};
  for (const [name, p] of Object.entries(profile.points)) merged[name] = { ...p };
  for (const [name, o] of Object.entries(device.points) as [string, PointOverride][]) {
    const here = at(`${base}.points`, name);
    const foreign = MODBUS_ONLY.filter((k) => o[k] !== undefined);
    if (foreign.length)
      errors.push(
        `${here}: ${foreign.map((k) => `"${k}"`).join(', ')} only apply to Modbus points; a serial point takes description, unit, scale, offset, range, precision, limits, enabled`,
      );
    const basePoint = merged[name];
    if (!basePoint) {
      if (o.enabled !== false)
        errors.push(
          `${here}: profile "${device.profile}" has no point "${name}"; add new serial points to the profile (they need a field)`,
        );
      continue;
    }
    const { description, unit, scale, offset, range, precision, limits, enabled } = o;
    const override: SerialPointInput = {};
    if (description !== undefined) override.description = description;
    if (unit !== undefined) override.unit = unit;
    if (scale !== undefined) override.scale = scale;
    if (offset !== undefined) override.offset = offset;
    if (range !== undefined) override.range = range;
    if (precision !== undefined) override.precision = precision;
    if (enabled !== undefined) override.enabled = enabled;
    merged[name] = {
      ...basePoint,
      ...override,
      limits: limits ? { ...basePoint.limits, ...limits } : basePoint.limits,
    };
  }
  for (const [name, p] of Object.entries(merged)) {
    if (p.enabled === false) continue;
    errors.push(...checkPoint(profile, name, p, at(`${base}.points`, name)));
  }
  if (Object.keys(device.groups).length)
    errors.push(
      `${base}.groups: poll groups only apply to Modbus devices; a serial device has one poll (mode: polled) or none (streaming)`,
    );
  if (errors.length) return { errors };

  const points: SerialPointSpec[] = [];
  for (const [name, p] of Object.entries(merged)) {
    if (p.enabled === false) continue;
    points.push({
      name,
      description: p.description ?? '',
      unit: p.unit ?? '',
      field: p.column !== undefined ? null : (p.field ?? name),
      column: p.column ?? null,
      scale: p.scale ?? 1,
      offset: p.offset ?? 0,
      range: p.range ? [p.range[0], p.range[1]] : null,
      precision: p.precision ?? null,
      limits: p.limits ?? {},
    });
  }
  const m = profile.mode;
  const mode: SerialMode =
    m.type === 'streaming'
      ? { type: 'streaming', staleAfter: m.staleAfter }
      : {
          type: 'polled',
          command: m.command,
          interval: device.pollInterval ?? m.interval ?? DEVICE_DEFAULTS.pollInterval,
          timeout: device.timeout ?? m.timeout ?? DEVICE_DEFAULTS.timeout,
          appendChecksum: m.appendChecksum,
        };
  return {
    errors,
    spec: {
      name: device.name,
      profile: device.profile,
      model: profile.model,
      connection: device.connection,
      framing: profile.framing,
      mode,
      parser: profile.parser,
      checksum: profile.checksum ? resolveChecksum(profile.checksum) : null,
      backoff: device.backoff,
      points,
    },
  };
}
