import type { Command } from 'commander';
import { namespacePolicy } from '../../application/access';
import { openWorkspace } from '../../application/workspace';
import { type Visibility, visibilities } from '../../domain/access/policy';
import { keyValueTable, printResult } from '../output';
import { withLazySession } from '../session';

/** The changes' module, loaded when a change is made (it loads the Temporal SDK). */
const changes = () => import('../../application/changes.js');

const list = (text: string | undefined) =>
  text === undefined
    ? undefined
    : text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);

export function registerAccessCommands(program: Command): void {
  const namespace = program
    .command('namespace')
    .description(
      'Namespaces (teams or apps) own models named <namespace>/<model>; a policy says who administers, uses, ' +
        'imports and approves there. Changes are audited.',
    );
  namespace
    .command('set')
    .description("Create a namespace's policy, or change it (its admins only).")
    .argument('<namespace>')
    .requiredOption('--admins <list>', 'who changes the policy and who sees what (comma-separated)')
    .option('--members <list>', "who may use the namespace's models shared within it")
    .option('--importers <list>', 'who may import files trained elsewhere (default: the admins)')
    .option('--approvers <list>', "the only people a review of the namespace's models may name")
    .option('--json', 'print one JSON object on stdout')
    .addHelpText(
      'after',
      '\nExample:\n  slipway namespace set secops --admins erin --members carol,dave --approvers alice',
    )
    .action(async (ns: string, opts: Record<string, string | boolean | undefined>) => {
      const ws = openWorkspace();
      const { setNamespacePolicy } = await changes();
      const policy = await withLazySession((connect) =>
        setNamespacePolicy(ws, connect, ns, {
          admins: list(opts.admins as string) ?? [],
          members: list(opts.members as string | undefined) ?? [],
          importers: list(opts.importers as string | undefined),
          approvers: list(opts.approvers as string | undefined),
        }),
      );
      printResult(
        opts,
        policy,
        () => `namespace ${ns} updated by ${ws.identity}\n\n${describePolicy(policy)}`,
      );
    });
  namespace
    .command('show')
    .description("Show a namespace's policy.")
    .argument('<namespace>')
    .option('--json', 'print one JSON object on stdout')
    .action(async (ns: string, opts: { json?: boolean }) => {
      const policy = await namespacePolicy(openWorkspace(), ns);
      printResult(opts, policy ?? { namespace: ns, policy: null }, () =>
        policy
          ? describePolicy(policy)
          : `namespace ${ns} has no policy: anyone may import into it and use its models. ` +
            `\`slipway namespace set ${ns} --admins <you>\` gives it one.`,
      );
    });

  program
    .command('share')
    .description(
      'Set who may see and use a model: private (its owner and the namespace admins), namespace (everyone its ' +
        "namespace's policy names) or global (everyone). Namespace admins decide; the change is audited.",
    )
    .argument('<model>', '<namespace>/<model> or <model>')
    .requiredOption('--visibility <level>', visibilities.join(' | '))
    .option('--json', 'print one JSON object on stdout')
    .action(async (model: string, opts: { visibility: string; json?: boolean }) => {
      if (!(visibilities as readonly string[]).includes(opts.visibility)) {
        throw new Error(`--visibility ${opts.visibility} is not one of ${visibilities.join(', ')}.`);
      }
      const { shareModel } = await changes();
      const sharing = await withLazySession((connect) =>
        shareModel(openWorkspace(), connect, model, opts.visibility as Visibility),
      );
      printResult(
        opts,
        { model, ...sharing },
        () => `${model} is now ${sharing.visibility} (owner ${sharing.owner})`,
      );
    });
}

function describePolicy(policy: {
  namespace: string;
  admins: string[];
  members: string[];
  importers?: string[];
  approvers?: string[];
  updatedBy: string;
  updatedAt: string;
}): string {
  return keyValueTable([
    ['namespace', policy.namespace],
    ['admins', policy.admins.join(', ')],
    ['members', policy.members.join(', ') || '-'],
    ['importers', (policy.importers ?? policy.admins).join(', ')],
    ['approvers', policy.approvers?.join(', ') ?? '(any the run names)'],
    ['updated', `${policy.updatedAt} by ${policy.updatedBy}`],
  ]);
}
