// node-gyp as Slipway's native addons (native/*/build.js) run it: the copy that ships with npm,
// against the local Node headers, with the compiler output in the addon's build.log.
const { spawnSync } = require('node:child_process');
const { existsSync, writeFileSync } = require('node:fs');
const { dirname, join, resolve } = require('node:path');

/** node-gyp ships inside npm; prefer the copy npm points us at, then the one beside node. */
function findNodeGyp() {
  const candidates = [];
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  try {
    candidates.push(require.resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not installed as a package; fall through to npm's bundled copy
  }
  const prefix = resolve(dirname(process.execPath), '..');
  candidates.push(
    join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  );
  candidates.push(
    join(dirname(process.execPath), 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  );
  return candidates.find((p) => existsSync(p));
}

/**
 * Local Node headers, so node-gyp does not try to download them (which fails on networks that
 * only mirror package registries). npm passes its own `nodedir` setting through the environment.
 */
function findNodeDir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const prefix = resolve(dirname(process.execPath), '..');
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
}

/** `node-gyp rebuild` in `dir`; throws with the reason (the details go to `logFile`). */
function runNodeGyp(dir, logFile, env = {}) {
  const nodeGyp = findNodeGyp();
  if (!nodeGyp) throw new Error('node-gyp not found (it ships with npm)');
  const args = [nodeGyp, 'rebuild', `--directory=${dir}`];
  const nodeDir = findNodeDir();
  if (nodeDir) args.push(`--nodedir=${nodeDir}`);
  const run = spawnSync(process.execPath, args, {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 10 * 60_000,
  });
  writeFileSync(
    logFile,
    `${process.execPath} ${args.join(' ')}\n${JSON.stringify(env)}\n\n${run.stdout ?? ''}\n${run.stderr ?? ''}\n`,
  );
  if (run.error || run.status !== 0)
    throw new Error(
      `${run.error ? run.error.message : `node-gyp exited with ${run.status}`}; details in ${logFile}`,
    );
}

module.exports = { runNodeGyp };
