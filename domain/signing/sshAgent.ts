import { type KeyObject, verify } from 'node:crypto';
import { connect } from 'node:net';
import { SigningError } from './errors';
import { keyFingerprint, openSshPublicKey, parsePublicKey } from './keys';

/**
 * Signing through a running SSH agent (`ssh-agent`, the one SSH_AUTH_SOCK names), so the private
 * key stays in the agent and its file need not be readable by Slipway. The ssh-agent protocol
 * (draft-miller-ssh-agent): each message is a uint32 length, a type byte and its fields; strings
 * are a uint32 length and the bytes. An Ed25519 signature from the agent is `string "ssh-ed25519",
 * string <64 bytes>`, and those 64 bytes are the plain Ed25519 signature of the data (RFC 8032, no
 * prehash): the same bytes `crypto.sign(null, data, key)` gives, so nothing else changes downstream.
 */
const REQUEST_IDENTITIES = 11;
const IDENTITIES_ANSWER = 12;
const SIGN_REQUEST = 13;
const SIGN_RESPONSE = 14;
const FAILURE = 5;
const TIMEOUT_MS = 10_000;

function sshString(bytes: Buffer | string): Buffer {
  const body = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  return Buffer.concat([length, body]);
}

/** Reads the ssh wire format's strings and integers off a buffer, refusing a short one. */
class Reader {
  private at = 0;
  constructor(private readonly bytes: Buffer) {}
  uint32(): number {
    if (this.at + 4 > this.bytes.length) throw agentError('a truncated answer');
    const value = this.bytes.readUInt32BE(this.at);
    this.at += 4;
    return value;
  }
  string(): Buffer {
    const length = this.uint32();
    if (this.at + length > this.bytes.length) throw agentError('a truncated answer');
    const value = this.bytes.subarray(this.at, this.at + length);
    this.at += length;
    return value;
  }
}

function agentError(what: string): SigningError {
  return new SigningError('InvalidKey', `The SSH agent gave ${what}.`);
}

/** One request to the agent and its answer (type byte and body). */
async function exchange(
  socketPath: string,
  type: number,
  body: Buffer,
): Promise<{ type: number; body: Buffer }> {
  const message = Buffer.concat([Buffer.from([type]), body]);
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    const chunks: Buffer[] = [];
    const fail = (error: Error) => {
      socket.destroy();
      reject(error);
    };
    socket.setTimeout(TIMEOUT_MS, () =>
      fail(new SigningError('InvalidKey', `The SSH agent at ${socketPath} did not answer within 10 s.`)),
    );
    socket.on('error', (err: NodeJS.ErrnoException) =>
      fail(
        new SigningError(
          'InvalidKey',
          `Cannot reach the SSH agent at ${socketPath} (${err.code ?? err.message}): start one (eval "$(ssh-agent)") ` +
            'and add your key (ssh-add ~/.ssh/id_ed25519), or sign with --key <private key file>.',
        ),
      ),
    );
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const received = Buffer.concat(chunks);
      if (received.length < 4) return;
      const length = received.readUInt32BE(0);
      if (received.length < 4 + length) return;
      socket.end();
      if (length < 1) return reject(agentError('an empty answer'));
      resolve({ type: received[4] as number, body: received.subarray(5, 4 + length) });
    });
    socket.write(Buffer.concat([sshString(message)]));
  });
}

/** The public keys the agent holds (Ed25519 only; others are of no use for decisions). */
export async function sshAgentEd25519Keys(socketPath: string): Promise<KeyObject[]> {
  const answer = await exchange(socketPath, REQUEST_IDENTITIES, Buffer.alloc(0));
  if (answer.type !== IDENTITIES_ANSWER)
    throw agentError(`answer type ${answer.type} to a request for its keys`);
  const reader = new Reader(answer.body);
  const keys: KeyObject[] = [];
  for (let n = reader.uint32(); n > 0; n--) {
    const blob = reader.string();
    reader.string(); // the comment
    const algorithm = new Reader(blob).string().toString();
    if (algorithm === 'ssh-ed25519')
      keys.push(parsePublicKey(`ssh-ed25519 ${blob.toString('base64')}`, 'the SSH agent'));
  }
  return keys;
}

/**
 * `publicKey`'s Ed25519 signature of `data`, made by the agent. Checked before it is returned, so
 * an agent that signed with another key (or garbled the answer) is caught here, not by the run.
 */
export async function sshAgentSign(socketPath: string, publicKey: KeyObject, data: Buffer): Promise<Buffer> {
  const blob = Buffer.from(openSshPublicKey(publicKey).split(' ')[1] as string, 'base64');
  const answer = await exchange(
    socketPath,
    SIGN_REQUEST,
    Buffer.concat([sshString(blob), sshString(data), Buffer.alloc(4)]),
  );
  if (answer.type === FAILURE) {
    throw new SigningError(
      'InvalidKey',
      `The SSH agent at ${socketPath} refused to sign with ${keyFingerprint(publicKey)}: it does not hold that key ` +
        '(ssh-add -l lists the ones it does; ssh-add <private key file> adds it) or it asked for a confirmation that was refused.',
    );
  }
  if (answer.type !== SIGN_RESPONSE) throw agentError(`answer type ${answer.type} to a sign request`);
  const signature = new Reader(new Reader(answer.body).string());
  const algorithm = signature.string().toString();
  const bytes = signature.string();
  if (algorithm !== 'ssh-ed25519' || bytes.length !== 64 || !verify(null, data, publicKey, bytes)) {
    throw agentError(
      `a signature that is not ${keyFingerprint(publicKey)}'s Ed25519 signature of the decision`,
    );
  }
  return Buffer.from(bytes);
}
