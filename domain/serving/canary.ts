/**
 * Which requests a canary answers: a fixed share, chosen deterministically. With a request key
 * (the `Slipway-Request-Key` header: a customer, an account, a session), by a hash of the key, so
 * one key always gets the same version while the split stands; without one, every n-th request in
 * arrival order, so the share is exact.
 */
export class CanarySplit {
  private seen = 0;

  constructor(
    /** Share of requests for the canary, 0 to 100. */
    readonly percent: number,
  ) {
    if (!(percent >= 0 && percent <= 100))
      throw new RangeError(`canary share ${percent} is not between 0 and 100`);
  }

  /** True when this request goes to the canary. */
  take(key?: string): boolean {
    if (key !== undefined && key !== '') return keyBucket(key) < this.percent * 100;
    const n = this.seen++;
    // The canary's count after n + 1 requests is floor((n + 1) p / 100): it takes the requests that raise it.
    return Math.floor(((n + 1) * this.percent) / 100) > Math.floor((n * this.percent) / 100);
  }
}

/** The key's bucket, 0 to 9,999: FNV-1a (32 bits) of its UTF-16 code units, spread by a final mix. */
export function keyBucket(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // FNV's low bits vary little between similar keys ("user-1", "user-2"): mix before taking them.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) % 10_000;
}
