import { readFile } from 'node:fs/promises';
import { type DecisionSigner, keySigner, type SignerChoice } from '../domain/review/decisionSignature';
import { parsePrivateKey, parsePublicKey } from '../domain/signing/keys';
import { sshAgentEd25519Keys, sshAgentSign } from '../domain/signing/sshAgent';
import { UsageError } from './usageError';

/** A public key file's text: an OpenSSH line or a PEM public key (then the agent holds the private half). */
const isPublicKey = (text: string) => /^(ssh-ed25519 |-----BEGIN PUBLIC KEY-----)/.test(text.trim());

/**
 * Who signs an approve/reject: `--key <private key file>` (read here), `--key <public key file>`
 * (the SSH agent of SSH_AUTH_SOCK signs with that key; the private key file need not be readable),
 * `--agent` (the agent's Ed25519 key; when it holds several, the one the namespace's policy registers
 * for the approver, chosen once the run's namespace is known: a SignerChoice), or nobody.
 */
export async function decisionSigner(
  opts: { key?: string; agent?: boolean },
  env: NodeJS.ProcessEnv = process.env,
): Promise<DecisionSigner | SignerChoice | undefined> {
  if (opts.key === undefined && !opts.agent) return undefined;
  let publicKey: ReturnType<typeof parsePublicKey> | undefined;
  if (opts.key !== undefined) {
    const bytes = await readFile(opts.key).catch((err: NodeJS.ErrnoException) => {
      throw new UsageError(
        `--key ${opts.key}: cannot read it (${err.code ?? err.message}).` +
          (err.code === 'EACCES'
            ? ' If an SSH agent holds the key, give its public key file (.pub) instead.'
            : ''),
      );
    });
    const text = bytes.toString('utf8');
    if (!isPublicKey(text)) return keySigner(parsePrivateKey(bytes, `--key ${opts.key}`));
    publicKey = parsePublicKey(text, `--key ${opts.key}`);
  }
  const socket = env.SSH_AUTH_SOCK?.trim();
  if (!socket) {
    throw new UsageError(
      `${opts.key ? `--key ${opts.key} is a public key, so an SSH agent must sign` : '--agent signs with an SSH agent'}, ` +
        'but SSH_AUTH_SOCK is not set: start one (eval "$(ssh-agent)"; ssh-add ~/.ssh/id_ed25519), or give --key <private key file>.',
    );
  }
  const agentSigner = (key: NonNullable<typeof publicKey>): DecisionSigner => ({
    publicKey: key,
    sign: (data) => sshAgentSign(socket, key, data),
  });
  if (publicKey !== undefined) return agentSigner(publicKey);
  const held = await sshAgentEd25519Keys(socket);
  if (held.length === 0) {
    throw new UsageError(
      `The SSH agent at ${socket} holds no Ed25519 key: ssh-add ~/.ssh/id_ed25519 (or give --key <private key file>).`,
    );
  }
  if (held.length === 1) return agentSigner(held[0] as NonNullable<typeof publicKey>);
  return { candidates: held.map(agentSigner), source: `the SSH agent at ${socket}` };
}
