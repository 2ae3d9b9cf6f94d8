import { ModelAccess } from '../domain/access/modelAccess';
import { ModelAliases } from '../domain/registry/aliases';
import type { ModelRegistry } from '../domain/registry/registry';

/**
 * `<model>`, `<model>@<version>` or `<model>@<alias>` as a person types it, resolved to a version
 * number (a bare name means the production alias, else the newest version), for `user`: a model
 * they may not see is refused with the reason, before anything about its versions is read.
 */
export async function resolveModelRef(
  registry: ModelRegistry,
  ref: string,
  user: string,
): Promise<{ name: string; version: number; via?: string }> {
  const at = ref.lastIndexOf('@');
  const name = at < 0 ? ref : ref.slice(0, at);
  const selector = at < 0 ? undefined : ref.slice(at + 1);
  await new ModelAccess(registry).assertCanUse(name, user);
  const aliases = new ModelAliases(registry);
  if (selector === undefined) {
    const production = await aliases.resolve(name, 'production');
    if (production !== undefined) return { name, version: production, via: 'production' };
    return { name, version: (await registry.latestVersion(name)).version, via: 'latest' };
  }
  if (/^v?\d+$/.test(selector)) {
    const version = Number(selector.replace(/^v/, ''));
    await registry.getVersion(name, version); // names the versions that exist when it does not
    return { name, version };
  }
  const version = await aliases.resolve(name, selector);
  if (version === undefined) {
    const known = Object.keys(await aliases.aliasesOf(name));
    throw new Error(
      `${name} has no alias "${selector}"${known.length ? ` (its aliases: ${known.join(', ')})` : ' (it has no aliases yet)'}. ` +
        `Use ${name}@<version> or see \`slipway models ${name}\`.`,
    );
  }
  return { name, version, via: selector };
}
