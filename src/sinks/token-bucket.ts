/**
 * A token bucket for a per-sink bandwidth cap (bytes per second). Pure: time is passed in.
 * Capacity is one second of rate (or the largest message, whichever is larger), so a message
 * bigger than the burst still goes out once the bucket is full instead of waiting forever.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly rate: number,
    now: number,
  ) {
    this.tokens = rate;
    this.last = now;
  }

  private refill(now: number, size: number): void {
    const cap = Math.max(this.rate, size);
    this.tokens = Math.min(cap, this.tokens + ((now - this.last) * this.rate) / 1000);
    this.last = now;
  }

  /** Milliseconds to wait before `size` bytes may go; 0 means now. */
  delay(size: number, now: number): number {
    this.refill(now, size);
    const need = Math.min(size, Math.max(this.rate, size)) - this.tokens;
    return need <= 0 ? 0 : Math.ceil((need * 1000) / this.rate);
  }

  take(size: number, now: number): void {
    this.refill(now, size);
    this.tokens -= size;
  }
}
