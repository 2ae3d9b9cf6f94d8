import { Readable } from 'node:stream';
import { MAX_FAST_LINE_BYTES, plainHeaderLine, type RowPlan } from '../data/csvRows';
import { type ChunkReply, reviveError } from './chunkProtocol';
import type { ChunkScoringPool } from './chunkScoringPool';

export interface ChunkScoringOptions {
  source: Readable;
  /** Bytes per chunk (cut at the last line break within). */
  chunkBytes: number;
  /** Chunks sent to the threads and not yet written, at most: memory stays flat. */
  maxInFlight: number;
  /** The scoring threads, started on first use. */
  pool(): ChunkScoringPool;
  /** The header's cells and line; returns what to read (and writes the output's header). */
  onHeader(cells: string[], row: number): RowPlan;
  /** A chunk's output lines, in file order. */
  write(output: Uint8Array, rows: number, positives: number): Promise<void>;
  signal?: AbortSignal;
}

/**
 * What the chunks did not cover, for the single reader (readCsvRows) to read on: the whole input
 * (`resume` undefined: no plain header, or a file of less than one chunk), or the input from the
 * start of a chunk holding a line the byte scanner does not take (`resume` says where and what the
 * header asked for). The single reader reads such a chunk as it reads any input: its plain lines
 * with the byte scanner, then csv-parse from the first line it cannot take.
 */
export interface HandOver {
  stream: Readable;
  resume?: { plan: RowPlan; line: number };
}

interface InFlight {
  bytes: Buffer;
  line: number;
  reply: Promise<ChunkReply>;
}

/**
 * Data-parallel scoring of a plain CSV: this thread only reads the input in chunks of whole lines,
 * counts their lines (so every thread knows the row numbers of its chunk, and errors name the row
 * an editor shows) and writes the outputs in file order; the scoring threads each read, score and
 * write whole chunks (chunkScoringThread.ts). Reading, scoring and writing overlap, and no thread
 * waits on another's stage. At most `maxInFlight` chunks are held (input and output), whatever the
 * file size.
 *
 * An error in a chunk is raised once every earlier chunk is written, as a single reader would
 * have met it. Returns undefined when done, or what is left for the single reader.
 */
export async function scoreInChunks(options: ChunkScoringOptions): Promise<HandOver | undefined> {
  const { chunkBytes, signal } = options;
  const reader = options.source[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  let pieces: Buffer[] = [];
  let buffered = 0;
  let eof = false;
  const readMore = async () => {
    const next = await reader.next();
    if (next.done) {
      eof = true;
      return;
    }
    const piece = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
    pieces.push(piece);
    buffered += piece.length;
  };
  /** What has been read and not sent, as one buffer. */
  const gathered = (): Buffer => {
    const all = pieces.length === 1 ? (pieces[0] as Buffer) : Buffer.concat(pieces);
    pieces = all.length > 0 ? [all] : [];
    return all;
  };
  const handOver = (first: Buffer[], resume?: HandOver['resume']): HandOver => ({
    stream: Readable.from(rest(first, reader), { objectMode: false }),
    resume,
  });

  // The header, and a first full chunk: a smaller file is not worth starting threads for.
  let header: ReturnType<typeof plainHeaderLine>;
  for (;;) {
    header = plainHeaderLine(gathered());
    if (header !== undefined || eof) break;
    await readMore();
  }
  if (header === undefined || header === 'refused') return handOver(pieces);
  while (!eof && buffered - header.next < chunkBytes) await readMore();
  if (eof) return handOver(pieces);
  const plan = options.onHeader(header.cells, header.line);
  const pool = options.pool();

  let carry = gathered().subarray(header.next);
  pieces = carry.length > 0 ? [carry] : [];
  buffered = carry.length;
  let line = header.line + 1;
  const inFlight: InFlight[] = [];
  let tooLong = false;
  for (;;) {
    while (!eof && buffered < chunkBytes) await readMore();
    carry = gathered();
    const cut = eof ? carry.length : carry.lastIndexOf(10) + 1;
    if (cut === 0 && carry.length > MAX_FAST_LINE_BYTES) {
      // A line too long for the byte scanner, which would refuse it anyway: no need to hold
      // more of it than the single reader does. Nothing more is read here: the single reader
      // takes over from this line once the chunks before it are written.
      inFlight.push({ bytes: carry, line, reply: Promise.resolve({ id: -1, refused: true }) });
      pieces = [];
      buffered = 0;
      tooLong = true;
    } else if (cut === 0 && !eof) {
      // No line break yet: read on until one comes.
      await readMore();
      continue;
    } else {
      const bytes = carry.subarray(0, cut);
      carry = carry.subarray(cut);
      pieces = carry.length > 0 ? [carry] : [];
      buffered = carry.length;
      if (bytes.length > 0) {
        inFlight.push({ bytes, line, reply: options.pool().score(bytes, line, plan) });
        line += countLines(bytes);
      }
    }
    const allSent = (eof && pieces.length === 0) || tooLong;
    while (inFlight.length > 0 && (inFlight.length >= options.maxInFlight || allSent)) {
      const oldest = inFlight.shift() as InFlight;
      const reply = await oldest.reply;
      if ('error' in reply) throw reviveError(reply.error);
      if ('refused' in reply) {
        void pool.release();
        return handOver([oldest.bytes, ...inFlight.map((c) => c.bytes), ...pieces], {
          plan,
          line: oldest.line,
        });
      }
      await options.write(reply.output, reply.rows, reply.positives);
      signal?.throwIfAborted();
    }
    if (allSent && inFlight.length === 0) return undefined;
  }
}

/** Line breaks in `bytes`. */
function countLines(bytes: Buffer): number {
  let lines = 0;
  for (let at = bytes.indexOf(10); at >= 0; at = bytes.indexOf(10, at + 1)) lines++;
  return lines;
}

/** `first`, then what is left of the source. */
async function* rest(first: Buffer[], reader: AsyncIterator<Buffer | string>) {
  for (const bytes of first) if (bytes.length > 0) yield bytes;
  for (;;) {
    const next = await reader.next();
    if (next.done) return;
    yield next.value;
  }
}
