import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { StorageConfigError } from './errors';

/** Where the object store's credentials come from, decided once per client (see resolveS3Credentials). */
export type S3Credentials =
  | { kind: 'static'; accessKey: string; secretKey: string; sessionToken?: string; source: string }
  /** Web identity (a token file and a role), or the container's or instance's role: fetched and renewed by the client. */
  | { kind: 'iam'; source: string }
  | { kind: 'anonymous'; source: string };

/** The variables the chain reads: Slipway's own first, then the standard ones cloud tooling sets. */
export interface S3CredentialEnv {
  SLIPWAY_S3_ACCESS_KEY?: string;
  SLIPWAY_S3_SECRET_KEY?: string;
  SLIPWAY_S3_SESSION_TOKEN?: string;
  SLIPWAY_S3_CREDENTIALS?: string;
  AWS_ACCESS_KEY_ID?: string;
  AWS_SECRET_ACCESS_KEY?: string;
  AWS_SESSION_TOKEN?: string;
  AWS_PROFILE?: string;
  AWS_SHARED_CREDENTIALS_FILE?: string;
  AWS_WEB_IDENTITY_TOKEN_FILE?: string;
  AWS_ROLE_ARN?: string;
}

/**
 * The credential chain, in the order the AWS tools use, so a deployment configured for them works
 * unchanged: (1) SLIPWAY_S3_ACCESS_KEY / _SECRET_KEY (/ _SESSION_TOKEN); (2) AWS_ACCESS_KEY_ID /
 * AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN); (3) the shared credentials file
 * (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials, profile AWS_PROFILE or `default`), when it
 * exists; (4) web identity (AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN); (5) anonymous.
 * `SLIPWAY_S3_CREDENTIALS=iam` skips to the role of the container or instance, which cannot be
 * detected without asking a metadata endpoint (a wait on machines that have none).
 */
export function resolveS3Credentials(env: S3CredentialEnv, home: string = homedir()): S3Credentials {
  const mode = (env.SLIPWAY_S3_CREDENTIALS ?? 'auto').toLowerCase();
  if (mode !== 'auto' && mode !== 'iam')
    throw new StorageConfigError(
      `SLIPWAY_S3_CREDENTIALS must be auto or iam (got "${env.SLIPWAY_S3_CREDENTIALS}").`,
    );
  const slipway = pair(
    env.SLIPWAY_S3_ACCESS_KEY,
    env.SLIPWAY_S3_SECRET_KEY,
    env.SLIPWAY_S3_SESSION_TOKEN,
    'SLIPWAY_S3_ACCESS_KEY and SLIPWAY_S3_SECRET_KEY',
  );
  if (mode === 'iam') {
    if (slipway)
      throw new StorageConfigError(
        'SLIPWAY_S3_CREDENTIALS=iam and SLIPWAY_S3_ACCESS_KEY are both set: keep one.',
      );
    return { kind: 'iam', source: 'the role of this container or instance (SLIPWAY_S3_CREDENTIALS=iam)' };
  }
  if (slipway) return { ...slipway, source: 'SLIPWAY_S3_ACCESS_KEY' };
  if (env.SLIPWAY_S3_SESSION_TOKEN)
    throw new StorageConfigError(
      'SLIPWAY_S3_SESSION_TOKEN is set without SLIPWAY_S3_ACCESS_KEY and SLIPWAY_S3_SECRET_KEY: a session token ' +
        'belongs to a temporary key pair; set all three.',
    );
  const aws = pair(
    env.AWS_ACCESS_KEY_ID,
    env.AWS_SECRET_ACCESS_KEY,
    env.AWS_SESSION_TOKEN,
    'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
  );
  if (aws) return { ...aws, source: 'AWS_ACCESS_KEY_ID' };
  const shared = fromSharedFile(env, home);
  if (shared) return shared;
  if (env.AWS_WEB_IDENTITY_TOKEN_FILE) {
    if (!env.AWS_ROLE_ARN)
      throw new StorageConfigError(
        'AWS_WEB_IDENTITY_TOKEN_FILE is set without AWS_ROLE_ARN: web identity needs the role to assume.',
      );
    return {
      kind: 'iam',
      source: `web identity (${env.AWS_WEB_IDENTITY_TOKEN_FILE}, role ${env.AWS_ROLE_ARN})`,
    };
  }
  return { kind: 'anonymous', source: 'no credentials found (anonymous access)' };
}

function pair(
  accessKey: string | undefined,
  secretKey: string | undefined,
  sessionToken: string | undefined,
  names: string,
): Extract<S3Credentials, { kind: 'static' }> | undefined {
  if (!accessKey && !secretKey) return undefined;
  if (!accessKey || !secretKey)
    throw new StorageConfigError(`S3 credentials are incomplete: set both ${names}.`);
  return { kind: 'static', accessKey, secretKey, source: '', ...(sessionToken ? { sessionToken } : {}) };
}

/** The profile's keys in the shared credentials file (INI: `[profile]`, then `name = value` lines). */
function fromSharedFile(env: S3CredentialEnv, home: string): S3Credentials | undefined {
  const explicit = env.AWS_SHARED_CREDENTIALS_FILE;
  const path = explicit ?? join(home, '.aws', 'credentials');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (explicit)
      throw new StorageConfigError(
        `AWS_SHARED_CREDENTIALS_FILE: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'unreadable'}).`,
      );
    return undefined;
  }
  const profile = env.AWS_PROFILE ?? 'default';
  const values: Record<string, string> = {};
  let current: string | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/[;#].*$/, '').trim();
    const section = /^\[\s*(.+?)\s*\]$/.exec(line);
    if (section) current = (section[1] as string).replace(/^profile\s+/, '');
    else if (current === profile && line.includes('=')) {
      const at = line.indexOf('=');
      values[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim();
    }
  }
  const found = pair(
    values.aws_access_key_id,
    values.aws_secret_access_key,
    values.aws_session_token,
    `aws_access_key_id and aws_secret_access_key in profile [${profile}] of ${path}`,
  );
  if (!found) {
    if (env.AWS_PROFILE)
      throw new StorageConfigError(`AWS_PROFILE: profile [${profile}] has no keys in ${path}.`);
    return undefined;
  }
  return { ...found, source: `${path} [${profile}]` };
}
