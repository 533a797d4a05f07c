/**
 * The durable dictionary that makes readings compact: device and point names become small ids,
 * and a device's ordered list of points (its "layout") becomes one id, so a 50-point batch names
 * its points with one varint instead of 50 strings.
 *
 * Entries are only ever added. New entries go into the same atomic LevelDB write as the first
 * record that uses them (see `unpersisted()`/`markPersisted()`), so a record never refers to an id
 * that is not on disk. Pure: no I/O here.
 */
import { DecodeError } from './bytes.js';
import { HalfwegError } from '../errors.js';

export interface Layout {
  readonly device: number;
  readonly points: readonly number[];
}

/** Beyond this many layouts, batches name their points inline (guards against churning point sets). */
export const MAX_LAYOUTS = 65_536;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export class NameTable {
  private readonly names: string[] = [];
  private readonly nameIds = new Map<string, number>();
  private readonly layouts: Layout[] = [];
  private readonly layoutIds = new Map<string, number>();
  private persistedNames = 0;
  private persistedLayouts = 0;

  /** Id of a name, adding it if new. Throws for strings UTF-8 cannot carry (lone surrogates). */
  nameId(name: string): number {
    const id = this.nameIds.get(name);
    if (id !== undefined) return id;
    if (LONE_SURROGATE.test(name))
      throw new HalfwegError(
        'HALFWEG_STORE_WRITE_FAILED',
        `name ${JSON.stringify(name)} is not valid Unicode (lone surrogate)`,
      );
    return this.addName(name);
  }

  /** Layout id for a device and its ordered point ids, or undefined once the table is full. */
  layoutId(device: number, points: readonly number[]): number | undefined {
    const key = `${device}:${points.join(',')}`;
    const id = this.layoutIds.get(key);
    if (id !== undefined) return id;
    if (this.layouts.length >= MAX_LAYOUTS) return undefined;
    return this.addLayout({ device, points: [...points] });
  }

  name(id: number): string {
    const n = this.names[id];
    if (n === undefined) throw new DecodeError(`unknown name id ${id}`);
    return n;
  }

  layout(id: number): Layout {
    const l = this.layouts[id];
    if (l === undefined) throw new DecodeError(`unknown layout id ${id}`);
    return l;
  }

  /** Loading from disk: entries arrive with their ids (in order, but tolerate gaps after a repair). */
  loadName(id: number, name: string): void {
    this.names[id] = name;
    this.nameIds.set(name, id);
    this.persistedNames = Math.max(this.persistedNames, id + 1);
  }

  loadLayout(id: number, layout: Layout): void {
    this.layouts[id] = layout;
    this.layoutIds.set(`${layout.device}:${layout.points.join(',')}`, id);
    this.persistedLayouts = Math.max(this.persistedLayouts, id + 1);
  }

  /** Entries added since the last successful write, to go into the next write. */
  unpersisted(): { names: [number, string][]; layouts: [number, Layout][] } {
    const names: [number, string][] = [];
    for (let i = this.persistedNames; i < this.names.length; i++) names.push([i, this.names[i]!]);
    const layouts: [number, Layout][] = [];
    for (let i = this.persistedLayouts; i < this.layouts.length; i++) layouts.push([i, this.layouts[i]!]);
    return { names, layouts };
  }

  /** After a successful write that carried `unpersisted()` as of `counts`. */
  markPersisted(counts: { names: number; layouts: number }): void {
    this.persistedNames = Math.max(this.persistedNames, counts.names);
    this.persistedLayouts = Math.max(this.persistedLayouts, counts.layouts);
  }

  get counts(): { names: number; layouts: number } {
    return { names: this.names.length, layouts: this.layouts.length };
  }

  private addName(name: string): number {
    const id = this.names.length;
    this.names.push(name);
    this.nameIds.set(name, id);
    return id;
  }

  private addLayout(layout: Layout): number {
    const id = this.layouts.length;
    this.layouts.push(layout);
    this.layoutIds.set(`${layout.device}:${layout.points.join(',')}`, id);
    return id;
  }
}
