import type { Command } from 'commander';
import { verifyModel } from '../../application/verify';
import { openWorkspace } from '../../application/workspace';
import { printResult } from '../output';

export function registerVerifyCommand(program: Command): void {
  program
    .command('verify')
    .description(
      "Check a model's signature: a folder written by `export mltk` (or any folder signed with the OpenSSF " +
        'model-signing tool), one file of it, or a registered version re-read from the store. Exit code 1 when ' +
        'anything differs from what was signed or the signature does not verify.',
    )
    .argument('<target>', 'a folder, a file, or <model>@<version|alias>')
    .option('--signature <file>', 'the signature bundle (default: model.sig in the folder)')
    .option('--public-key <file>', "the signer's public key (default: this installation's model-signing key)")
    .option('--json', 'print one JSON object on stdout')
    .addHelpText(
      'after',
      '\nExamples:\n  slipway verify upload/\n  slipway verify upload/card_fraud.onnx\n  slipway verify card-fraud@3\n' +
        '  model_signing verify key upload/ --signature upload/model.sig --public_key .slipway/keys/model-signing.pem.pub',
    )
    .action(async (target: string, opts: { signature?: string; publicKey?: string; json?: boolean }) => {
      const result = await verifyModel(openWorkspace(), target, opts);
      printResult(opts, result, () =>
        result.ok
          ? `OK: ${result.target} matches its signature (${result.files.length} file${result.files.length === 1 ? '' : 's'}, signed by ${result.signer}).`
          : [
              `MISMATCH: ${result.target} differs from its signature (signed by ${result.signer}):`,
              ...result.problems.map((p) => `  ${p}`),
            ].join('\n'),
      );
      if (!result.ok) process.exitCode = 1;
    });
}
