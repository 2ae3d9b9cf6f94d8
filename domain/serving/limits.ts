/** What one request may carry; both are refused with 413 before any scoring. */
export interface RequestLimits {
  /** Largest body in bytes (counted while it arrives, so a huge body is cut off, not buffered). */
  maxBodyBytes: number;
  /** Most rows in one request. */
  maxRows: number;
}

/** 8 MiB holds 10,000 rows of 30 features written out in full in JSON. */
export const DEFAULT_LIMITS: RequestLimits = { maxBodyBytes: 8 * 1024 * 1024, maxRows: 10_000 };
