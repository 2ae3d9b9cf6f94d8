import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { namespacePolicy } from '../../application/access';
import { openWorkspace } from '../../application/workspace';
import { type NamespacePolicy, type Visibility, visibilities } from '../../domain/access/policy';
import type { ClearablePolicyField } from '../../domain/access/policyChanges';
import { notificationEventTypes } from '../../domain/notify/events';
import {
  targetLabel,
  type WebhookTarget,
  webhookFormats,
  webhookTargetSchema,
} from '../../domain/notify/targets';
import { keyFingerprint, parsePublicKey, publicKeyText } from '../../domain/signing/keys';
import { keyValueTable, printResult } from '../output';
import { withLazySession } from '../session';
import { UsageError } from '../usageError';

/** The changes' module, loaded when a change is made (it loads the Temporal SDK). */
const changes = () => import('../../application/changes.js');

const list = (text: string | undefined) =>
  text === undefined
    ? undefined
    : text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** A public key file's key, as the policy keeps it (refused with the file named when it is not one). */
function publicKeyFile(path: string, flag: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`${flag} ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? err}).`);
  }
  return publicKeyText(parsePublicKey(text, `${flag} ${path}`));
}

/** `--approver-key alice=alice.pub` (repeatable): each approver's public keys. */
function approverKeys(values: string[] | undefined): Record<string, string[]> | undefined {
  if (!values?.length) return undefined;
  const keys: Record<string, string[]> = {};
  for (const value of values) {
    const [person, file] = splitOnce(value, '--approver-key', '<person>=<public key file>');
    keys[person] = [...(keys[person] ?? []), publicKeyFile(file, '--approver-key')];
  }
  return keys;
}

/** `--protect production=erin,frank` or `--protect production` (only the pipeline, after an approved review). */
function protectedAliases(values: string[] | undefined): Record<string, string[]> | undefined {
  if (!values?.length) return undefined;
  return Object.fromEntries(
    values.map((value) => {
      const eq = value.indexOf('=');
      return eq < 0 ? [value.trim(), []] : [value.slice(0, eq).trim(), list(value.slice(eq + 1)) ?? []];
    }),
  );
}

function splitOnce(value: string, flag: string, shape: string): [string, string] {
  const eq = value.indexOf('=');
  if (eq <= 0 || eq === value.length - 1) throw new UsageError(`${flag} takes ${shape}, not "${value}".`);
  return [value.slice(0, eq).trim(), value.slice(eq + 1).trim()];
}

/** The CLI's names of the settings `--clear` removes. */
const clearFlags: Record<string, ClearablePolicyField> = {
  members: 'members',
  importers: 'importers',
  approvers: 'approvers',
  'approver-keys': 'approverKeys',
  'allow-unsigned': 'allowUnsigned',
  protect: 'protectedAliases',
  'trusted-signers': 'trustedSigners',
  'require-signed-imports': 'requireSignedImports',
  webhooks: 'webhooks',
};

function clearOption(text: string | undefined): ClearablePolicyField[] {
  return (list(text) ?? []).map((name) => {
    const field = clearFlags[name];
    if (field === undefined) {
      throw new UsageError(
        `--clear ${name}: not a setting that can be cleared. Clearable: ${Object.keys(clearFlags).join(', ')}` +
          (name === 'admins' ? ' (a policy always has admins: give --admins to replace them).' : '.'),
      );
    }
    return field;
  });
}

const notifiedEvents = notificationEventTypes.filter((t) => t !== 'test');

/** `--webhook` and its companions as one webhook of the policy, refused with the flag to fix. */
function webhookOption(opts: Record<string, unknown>): WebhookTarget | undefined {
  const given = ['webhook', 'webhookUrlEnv', 'webhookSecretEnv', 'webhookFormat', 'webhookEvents'].filter(
    (k) => opts[k] !== undefined,
  );
  if (given.length === 0) return undefined;
  if (opts.webhook === undefined && opts.webhookUrlEnv === undefined) {
    throw new UsageError(
      '--webhook-secret-env, --webhook-format and --webhook-events describe a webhook: give --webhook <url> (or --webhook-url-env <VAR>) too.',
    );
  }
  const format = (opts.webhookFormat as string | undefined) ?? 'json';
  if (!(webhookFormats as readonly string[]).includes(format)) {
    throw new UsageError(`--webhook-format ${format}: must be one of ${webhookFormats.join(', ')}.`);
  }
  const events = list(opts.webhookEvents as string | undefined);
  const unknown = events?.filter((e) => !(notifiedEvents as string[]).includes(e)) ?? [];
  if (unknown.length > 0) {
    throw new UsageError(
      `--webhook-events: ${unknown.join(', ')} is not an event. Events: ${notifiedEvents.join(', ')}.`,
    );
  }
  const parsed = webhookTargetSchema.safeParse({
    url: opts.webhook,
    urlEnv: opts.webhookUrlEnv,
    secretEnv: opts.webhookSecretEnv,
    format,
    ...(events ? { events } : {}),
  });
  if (!parsed.success) {
    const flags: Record<string, string> = {
      url: '--webhook',
      urlEnv: '--webhook-url-env',
      secretEnv: '--webhook-secret-env',
    };
    const problems = parsed.error.issues.map(
      (i) => `${flags[String(i.path[0])] ?? String(i.path[0])}: ${i.message}`,
    );
    throw new UsageError(`The webhook is not usable: ${problems.join('; ')}.`);
  }
  return parsed.data;
}

export function registerAccessCommands(program: Command): void {
  program
    .command('key')
    .description('Keys for signing review decisions.')
    .command('generate')
    .description(
      'Make an Ed25519 key pair: the private key (PEM, readable by you alone) in <file>, the public key (an ' +
        'OpenSSH line, for `namespace set --approver-key`) in <file>.pub. An existing ssh-keygen -t ed25519 key works too.',
    )
    .argument('<file>', 'where to write the private key (never overwritten)')
    .option('--json', 'print one JSON object on stdout')
    .action((file: string, opts: { json?: boolean }) => {
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      const line = publicKeyText(publicKey);
      try {
        writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { flag: 'wx', mode: 0o600 });
      } catch (err) {
        throw new UsageError(
          `${file}: cannot create it (${(err as NodeJS.ErrnoException).code}); a key file is never overwritten.`,
        );
      }
      writeFileSync(`${file}.pub`, `${line}\n`, { flag: 'w' });
      const fingerprint = keyFingerprint(publicKey);
      printResult(opts, { privateKey: file, publicKey: `${file}.pub`, fingerprint, openssh: line }, () =>
        [
          `private key: ${file} (keep it to yourself)`,
          `public key:  ${file}.pub`,
          `fingerprint: ${fingerprint}`,
          '',
          `Register it: slipway namespace set <namespace> ... --approver-key <you>=${file}.pub`,
        ].join('\n'),
      );
    });

  const namespace = program
    .command('namespace')
    .description(
      'Namespaces (teams or apps) own models named <namespace>/<model>; a policy says who administers, uses, ' +
        'imports and approves there. Changes are audited.',
    );
  namespace
    .command('set')
    .description(
      "Create a namespace's policy, or change it (its admins only): only the settings given change, the rest is kept.",
    )
    .argument('<namespace>', 'the namespace (a team or app): the models named <namespace>/<model>')
    .option(
      '--admins <list>',
      'who changes the policy and who sees what (comma-separated; needed for a new policy)',
    )
    .option('--members <list>', "who may use the namespace's models shared within it")
    .option('--importers <list>', 'who may import files trained elsewhere (default: the admins)')
    .option('--approvers <list>', "the only people a review of the namespace's models may name")
    .option(
      '--approver-key <person=file>',
      "an approver's Ed25519 public key (OpenSSH .pub line or PEM; repeatable; replaces that person's keys). " +
        'With any key registered, decisions must be signed',
      collect,
    )
    .option(
      '--allow-unsigned',
      'accept unsigned decisions too (recorded as unsigned) although keys are registered',
    )
    .option(
      '--protect <alias[=people]>',
      'protect an alias (repeatable): only these people move it by hand (rollback), and the pipeline only after an ' +
        'approved review; without people, only the pipeline after an approved review. "--protect production=erin"',
      collect,
    )
    .option(
      '--trusted-signer <file>',
      'a public key (ECDSA PEM, as the OpenSSF model-signing tool uses, or Ed25519) whose model signatures `import onnx --signature` trusts (repeatable; replaces the list)',
      collect,
    )
    .option('--require-signed-imports', 'refuse imports without a signature by a trusted signer')
    .option(
      '--webhook <url>',
      'send notifications (reviews, blocked, promoted, rolled back, drift) to this URL; replaces a webhook with the same URL',
    )
    .option(
      '--webhook-url-env <VAR>',
      "instead of --webhook: the workers' environment variable holding the URL (a Slack incoming webhook's URL is a secret)",
    )
    .option(
      '--webhook-secret-env <VAR>',
      "the workers' environment variable holding the webhook's HMAC secret (required for --webhook-format json); the secret itself is never stored",
    )
    .option('--webhook-format <format>', `${webhookFormats.join(' | ')} (default json)`)
    .option('--webhook-events <list>', `only these events (default all): ${notifiedEvents.join(', ')}`)
    .option(
      '--clear <settings>',
      `remove settings first (comma-separated): ${Object.keys(clearFlags).join(', ')}`,
    )
    .option('--json', 'print one JSON object on stdout')
    .addHelpText(
      'after',
      '\nA change is merged into the current policy: lists given (--admins, --members, --importers, --approvers,\n' +
        '--trusted-signer) replace theirs; --approver-key, --protect and --webhook replace the entry of that person,\n' +
        'alias or URL and keep the others; --clear removes a setting before the rest is applied.\n' +
        '\nExamples:\n  slipway namespace set secops --admins erin --members carol,dave --approvers alice\n' +
        '  slipway namespace set secops --approver-key bob=bob.pub --protect production=erin\n' +
        '  slipway namespace set secops --clear members,allow-unsigned\n' +
        '  SECOPS_HOOK_SECRET=... slipway worker   # where the workers run\n' +
        '  slipway namespace set secops --webhook https://hooks.example.org/slipway --webhook-secret-env SECOPS_HOOK_SECRET\n' +
        '  slipway namespace set secops --webhook-url-env SECOPS_SLACK_URL --webhook-format slack\n' +
        '  slipway notify test secops',
    )
    .action(async (ns: string, opts: Record<string, string | string[] | boolean | undefined>) => {
      const ws = openWorkspace();
      const signers = (opts.trustedSigner as string[] | undefined)?.map((f) =>
        publicKeyFile(f, '--trusted-signer'),
      );
      const webhook = webhookOption(opts);
      const settings = {
        admins: list(opts.admins as string | undefined),
        members: list(opts.members as string | undefined),
        importers: list(opts.importers as string | undefined),
        approvers: list(opts.approvers as string | undefined),
        approverKeys: approverKeys(opts.approverKey as string[] | undefined),
        allowUnsigned: opts.allowUnsigned === true ? true : undefined,
        protectedAliases: protectedAliases(opts.protect as string[] | undefined),
        trustedSigners: signers,
        requireSignedImports: opts.requireSignedImports === true ? true : undefined,
        webhooks: webhook ? [webhook] : undefined,
      };
      const clear = clearOption(opts.clear as string | undefined);
      if (clear.length === 0 && Object.values(settings).every((v) => v === undefined)) {
        throw new UsageError(
          `namespace set ${ns}: nothing to change. Give a setting (--admins, --members, --webhook ...) or --clear; ` +
            `\`slipway namespace show ${ns}\` shows the policy.`,
        );
      }
      const { setNamespacePolicy } = await changes();
      const policy = await withLazySession((connect) => setNamespacePolicy(ws, connect, ns, settings, clear));
      printResult(
        opts,
        policy,
        () => `namespace ${ns} updated by ${ws.identity}\n\n${describePolicy(policy)}`,
      );
    });
  namespace
    .command('show')
    .description("Show a namespace's policy.")
    .argument('<namespace>', 'the namespace (a team or app): the models named <namespace>/<model>')
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

function describePolicy(policy: NamespacePolicy): string {
  const fingerprints = (keys: string[]) =>
    keys.map((k) => keyFingerprint(parsePublicKey(k, 'policy'))).join(', ');
  const keyed = Object.entries(policy.approverKeys ?? {}).filter(([, keys]) => keys.length > 0);
  return keyValueTable([
    ['namespace', policy.namespace],
    ['admins', policy.admins.join(', ')],
    ['members', policy.members.join(', ') || '-'],
    ['importers', (policy.importers ?? policy.admins).join(', ')],
    ['approvers', policy.approvers?.join(', ') ?? '(any the run names)'],
    [
      'decisions',
      keyed.length === 0
        ? 'unsigned (no approver keys registered)'
        : `signed${policy.allowUnsigned ? ' or unsigned (allowed)' : ' only'}; keys: ${keyed
            .map(([who, keys]) => `${who} ${fingerprints(keys)}`)
            .join('; ')}`,
    ],
    [
      'protected aliases',
      Object.entries(policy.protectedAliases ?? {})
        .map(
          ([alias, movers]) =>
            `${alias} (${movers.length ? movers.join(', ') : 'pipeline after approval only'})`,
        )
        .join('; ') || '-',
    ],
    [
      'imports',
      `${policy.requireSignedImports ? 'signature required' : 'signature optional'}; trusted signers: ${
        fingerprints(policy.trustedSigners ?? []) || 'none'
      }`,
    ],
    [
      'webhooks',
      (policy.webhooks ?? [])
        .map(
          (w) =>
            `${targetLabel(w)} (${w.format}, ${w.secretEnv ? `secret in $${w.secretEnv}` : 'unsigned'}, ${
              w.events?.join(', ') ?? 'all events'
            })`,
        )
        .join('; ') || '-',
    ],
    ['updated', `${policy.updatedAt} by ${policy.updatedBy}`],
  ]);
}
