import type { Table } from '../../settings/profile-schema.js';

const SPACE = 65536;

/**
 * The four Modbus tables of one device as typed arrays: what a server answers from and a
 * simulator writes into. Each table spans the whole 16-bit address space (384 KiB in all, so
 * no address ever needs a bounds check beyond `size`), and `size` says how many addresses from 0
 * the device claims to have: a read that reaches `size` or beyond gets exception 02.
 *
 * Setting values past `size` grows it, so a test or benchmark can fill an image without
 * declaring its shape first.
 */
export class RegisterImage {
  readonly coils = new Uint8Array(SPACE);
  readonly discrete = new Uint8Array(SPACE);
  readonly input = new Uint16Array(SPACE);
  readonly holding = new Uint16Array(SPACE);
  private readonly sizes: Record<Table, number> = { coil: 0, discrete: 0, input: 0, holding: 0 };

  constructor(sizes: Partial<Record<Table, number>> = {}) {
    for (const [table, n] of Object.entries(sizes) as [Table, number][]) this.setSize(table, n);
  }

  /** Addresses 0..size-1 of `table` exist. */
  size(table: Table): number {
    return this.sizes[table];
  }

  setSize(table: Table, size: number): void {
    if (!Number.isInteger(size) || size < 0 || size > SPACE)
      throw new RangeError(`size of ${table} must be 0..${SPACE}, got ${size}`);
    this.sizes[table] = size;
  }

  bits(table: 'coil' | 'discrete'): Uint8Array {
    return table === 'coil' ? this.coils : this.discrete;
  }

  registers(table: 'input' | 'holding'): Uint16Array {
    return table === 'input' ? this.input : this.holding;
  }

  setRegisters(table: 'input' | 'holding', address: number, words: ArrayLike<number>): void {
    checkSpan(address, words.length);
    const regs = this.registers(table);
    for (let i = 0; i < words.length; i++) regs[address + i] = words[i]!;
    if (address + words.length > this.sizes[table]) this.sizes[table] = address + words.length;
  }

  setBits(table: 'coil' | 'discrete', address: number, bits: ArrayLike<number | boolean>): void {
    checkSpan(address, bits.length);
    const arr = this.bits(table);
    for (let i = 0; i < bits.length; i++) arr[address + i] = bits[i] ? 1 : 0;
    if (address + bits.length > this.sizes[table]) this.sizes[table] = address + bits.length;
  }

  getRegisters(table: 'input' | 'holding', address: number, count: number): number[] {
    checkSpan(address, count);
    return Array.from(this.registers(table).subarray(address, address + count));
  }

  getBits(table: 'coil' | 'discrete', address: number, count: number): number[] {
    checkSpan(address, count);
    return Array.from(this.bits(table).subarray(address, address + count));
  }
}

function checkSpan(address: number, count: number): void {
  if (!Number.isInteger(address) || address < 0 || address + count > SPACE) {
    throw new RangeError(`addresses ${address}..${address + count - 1} are outside 0..${SPACE - 1}`);
  }
}
