import type { Command } from 'commander';

type Register = (program: Command) => void;

export interface CommandModule {
  /** The top-level commands the module registers (checked by test/unit/commandModules.test.ts). */
  commands: readonly string[];
  load: () => Promise<Register>;
}

/**
 * Every command module, in the order `--help` lists them. A command line naming one of these
 * commands loads only its module, so `slipway status <id>` does not load (and wait for) the
 * modules of the other thirty commands; `--help`, `help` or an unknown word loads them all, so
 * commander lists, or suggests, every command as before. A command missing from `commands` is only
 * slower to start, never unreachable.
 */
export const commandModules: readonly CommandModule[] = [
  { commands: ['demo'], load: async () => (await import('./commands/demo.js')).registerDemoCommand },
  { commands: ['init'], load: async () => (await import('./commands/init.js')).registerInitCommand },
  { commands: ['run', 'status'], load: async () => (await import('./commands/run.js')).registerRunCommand },
  { commands: ['tune'], load: async () => (await import('./commands/tune.js')).registerTuneCommand },
  { commands: ['cancel'], load: async () => (await import('./commands/cancel.js')).registerCancelCommand },
  { commands: ['import'], load: async () => (await import('./commands/import.js')).registerImportCommand },
  {
    commands: ['pending', 'approve', 'reject'],
    load: async () => (await import('./commands/review.js')).registerReviewCommands,
  },
  {
    commands: ['schedule'],
    load: async () => (await import('./commands/schedule.js')).registerScheduleCommand,
  },
  {
    commands: ['models', 'promote', 'rollback'],
    load: async () => (await import('./commands/models.js')).registerModelsCommands,
  },
  {
    commands: ['key', 'namespace', 'share'],
    load: async () => (await import('./commands/access.js')).registerAccessCommands,
  },
  { commands: ['notify'], load: async () => (await import('./commands/notify.js')).registerNotifyCommand },
  {
    commands: ['apply', 'report', 'export'],
    load: async () => (await import('./commands/apply.js')).registerApplyCommands,
  },
  {
    commands: ['drift', 'monitor'],
    load: async () => {
      const { registerDriftCommand, registerMonitorCommand } = await import('./commands/drift.js');
      return (program) => {
        registerDriftCommand(program);
        registerMonitorCommand(program);
      };
    },
  },
  {
    commands: ['serve', 'serve-report'],
    load: async () => (await import('./commands/serve.js')).registerServeCommand,
  },
  { commands: ['runs'], load: async () => (await import('./commands/runs.js')).registerRunsCommand },
  { commands: ['compare'], load: async () => (await import('./commands/compare.js')).registerCompareCommand },
  { commands: ['lineage'], load: async () => (await import('./commands/lineage.js')).registerLineageCommand },
  { commands: ['verify'], load: async () => (await import('./commands/verify.js')).registerVerifyCommand },
  { commands: ['audit'], load: async () => (await import('./commands/audit.js')).registerAuditCommand },
  { commands: ['gc'], load: async () => (await import('./commands/gc.js')).registerGcCommand },
  { commands: ['console'], load: async () => (await import('./commands/console.js')).registerConsoleCommand },
  { commands: ['extract'], load: async () => (await import('./commands/extract.js')).registerExtractCommand },
  { commands: ['worker'], load: async () => (await import('./commands/worker.js')).registerWorkerCommand },
  { commands: ['dev'], load: async () => (await import('./commands/dev.js')).registerDevCommand },
];

/** The modules a command line needs: the one naming its command, else all of them. */
export function modulesFor(args: readonly string[]): readonly CommandModule[] {
  // The program's own options (--help, --version) take no value, so the first word is the command.
  const word = args.find((a) => !a.startsWith('-'));
  const named = commandModules.find((m) => word !== undefined && m.commands.includes(word));
  return named ? [named] : commandModules;
}
