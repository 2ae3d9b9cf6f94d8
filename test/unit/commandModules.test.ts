import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { commandModules, modulesFor } from '../../cli/commandModules';

describe('commandModules', () => {
  it('names exactly the top-level commands each module registers, each command in one module', async () => {
    const seen = new Set<string>();
    for (const module of commandModules) {
      const program = new Command();
      (await module.load())(program);
      expect(program.commands.map((c) => c.name())).toEqual(module.commands);
      for (const name of module.commands) {
        expect(seen.has(name), `${name} is in two modules`).toBe(false);
        seen.add(name);
      }
    }
  });

  it('loads only the module of the command a command line names', () => {
    expect(modulesFor(['status', 'train-x-1234'])).toEqual([
      commandModules.find((m) => m.commands.includes('run')),
    ]);
    expect(modulesFor(['models', '--json'])).toHaveLength(1);
    expect(modulesFor(['schedule', 'describe', 'nightly'])).toHaveLength(1);
  });

  it('loads every module for help, no command, or a word that is no command (so commander can suggest one)', () => {
    for (const args of [[], ['--help'], ['-h'], ['help'], ['help', 'run'], ['--version'], ['statsu', 'x']]) {
      expect(modulesFor(args)).toBe(commandModules);
    }
  });
});
