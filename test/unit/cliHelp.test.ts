import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { commandModules } from '../../cli/commandModules';

/** Every command and subcommand of `slipway`, by its full name (`schedule create`). */
async function everyCommand(): Promise<{ path: string; command: Command }[]> {
  const program = new Command('slipway');
  for (const module of commandModules) (await module.load())(program);
  const found: { path: string; command: Command }[] = [];
  const walk = (command: Command, path: string) => {
    found.push({ path, command });
    for (const sub of command.commands) walk(sub, `${path} ${sub.name()}`);
  };
  for (const command of program.commands) walk(command, command.name());
  return found;
}

describe('slipway --help', () => {
  it('describes every command, every option (its default once) and every argument', async () => {
    const gaps: string[] = [];
    for (const { path, command } of await everyCommand()) {
      if (!command.description().trim()) gaps.push(`${path}: no description`);
      for (const option of command.options) {
        if (!option.description?.trim()) gaps.push(`${path} ${option.flags}: no help text`);
        // Commander prints a default value itself: said in the text too, help shows it twice.
        if (option.defaultValue !== undefined && /\(default\b/.test(option.description))
          gaps.push(`${path} ${option.flags}: the default twice`);
      }
      for (const argument of command.registeredArguments)
        if (!argument.description?.trim()) gaps.push(`${path} <${argument.name()}>: no help text`);
    }
    expect(gaps).toEqual([]);
  });
});
