import { createRequire } from 'node:module';
import { extname, resolve } from 'node:path';

// A thread is a fresh V8 isolate with no TypeScript loader: in a TS checkout it registers tsx's
// require hook (the same tsx bin/slipway runs on) before loading its entry; compiled JS needs none.
const ownExtension = extname(__filename);

/**
 * The source a worker thread is started with (`new Worker(source, { eval: true })`): it loads the
 * module `<dir>/<entry>` (the entry's name without its extension), through tsx in a TS checkout.
 */
export function threadBootstrap(dir: string, entry: string): string {
  return [
    ownExtension === '.ts' ? `require(${JSON.stringify(createRequire(__filename).resolve('tsx/cjs'))});` : '',
    `require(${JSON.stringify(resolve(dir, `${entry}${ownExtension}`))});`,
  ].join('\n');
}
