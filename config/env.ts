import { homedir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { REPO_ROOT } from './repoRoot';

// The repository root, so the default state folder is the same from any working directory.
export { REPO_ROOT } from './repoRoot';

const port = z.coerce.number().int().min(1).max(65535);
const optionalText = z
  .string()
  .trim()
  .transform((s) => (s === '' ? undefined : s))
  .optional();

/**
 * Every environment variable Slipway reads, with its default. The embedded default needs none:
 * it starts a local Temporal dev server and keeps artifacts in a local directory. Setting
 * SLIPWAY_TEMPORAL_ADDRESS and an s3:// SLIPWAY_ARTIFACTS moves the same code onto real infrastructure.
 */
export const envSchema = z.object({
  /** Where the embedded stack keeps its database, logs, artifacts and pid files. */
  SLIPWAY_STATE_DIR: optionalText,
  /** Where downloaded or built service binaries are cached, outside the work tree. */
  SLIPWAY_BIN_CACHE: optionalText,
  /** host:port of a Temporal frontend. Unset means "use the embedded dev server". */
  SLIPWAY_TEMPORAL_ADDRESS: optionalText,
  SLIPWAY_TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  SLIPWAY_TEMPORAL_PORT: port.default(7233),
  SLIPWAY_TEMPORAL_UI_PORT: port.default(8233),
  /**
   * TLS to a Temporal cluster (see infra/temporalConnection.ts): `on` with the system's CAs, or
   * implied by a CA, a client certificate or an API key; `off` forces plain text.
   */
  SLIPWAY_TEMPORAL_TLS: optionalText,
  /** PEM file of the CA that signed the Temporal frontend's certificate (a private cluster's CA). */
  SLIPWAY_TEMPORAL_TLS_CA: optionalText,
  /** mutual TLS: PEM files of this client's certificate and its private key (set both). */
  SLIPWAY_TEMPORAL_TLS_CERT: optionalText,
  SLIPWAY_TEMPORAL_TLS_KEY: optionalText,
  /** The name the frontend's certificate is checked against, when it differs from the address's host. */
  SLIPWAY_TEMPORAL_TLS_SERVER_NAME: optionalText,
  /** Seconds between a worker's checks of the TLS files above; a change reconnects with the new files. */
  SLIPWAY_TEMPORAL_TLS_RELOAD_SECONDS: z.coerce.number().min(0.1).max(86400).default(60),
  /** An API key (Temporal Cloud), sent as a bearer token over TLS; an environment variable only, never an option. */
  SLIPWAY_TEMPORAL_API_KEY: optionalText,
  /** Extra gRPC metadata sent with every call, `name=value` pairs separated by commas. */
  SLIPWAY_TEMPORAL_GRPC_METADATA: optionalText,
  /** Path of a `temporal` CLI binary to use instead of looking on PATH or installing one. */
  SLIPWAY_TEMPORAL_BIN: optionalText,
  SLIPWAY_TASK_QUEUE: z.string().min(1).default('slipway'),
  /** Training runs on its own queue so heavy workers scale apart from light ones. */
  SLIPWAY_TRAINING_TASK_QUEUE: z.string().min(1).default('slipway-training'),
  /** file:///abs/dir or s3://bucket/prefix. Unset means file://<state dir>/artifacts. */
  SLIPWAY_ARTIFACTS: optionalText,
  SLIPWAY_S3_ENDPOINT: optionalText,
  SLIPWAY_S3_REGION: z.string().min(1).default('us-east-1'),
  SLIPWAY_S3_ACCESS_KEY: optionalText,
  SLIPWAY_S3_SECRET_KEY: optionalText,
  /** The session token of a temporary key pair (STS), with SLIPWAY_S3_ACCESS_KEY and _SECRET_KEY. */
  SLIPWAY_S3_SESSION_TOKEN: optionalText,
  /**
   * `auto` (default): the credential chain of domain/storage/s3Credentials.ts (Slipway's keys, the
   * AWS_* variables, the shared credentials file, web identity); `iam`: the container's or instance's role.
   */
  SLIPWAY_S3_CREDENTIALS: optionalText,
  /**
   * PEM file of the CA (or bundle of CAs) that signed the S3 endpoint's certificate, for a store
   * behind a private CA; it replaces the system's CAs for S3 connections. Needs an https:// endpoint.
   */
  SLIPWAY_S3_CA: optionalText,
  /** `on`: bucket in the path (MinIO, most S3-compatible stores); `off`: virtual-host style; unset: the client's choice by endpoint. */
  SLIPWAY_S3_PATH_STYLE: optionalText,
  /** Server-side encryption of every object written: `AES256` (SSE-S3) or `aws:kms` (SSE-KMS). */
  SLIPWAY_S3_SSE: optionalText,
  /** With SLIPWAY_S3_SSE=aws:kms: the KMS key id or ARN (unset: the bucket's default key). */
  SLIPWAY_S3_SSE_KMS_KEY_ID: optionalText,
  /** The standard variables of the AWS tools, read by the S3 credential chain when Slipway's own are unset. */
  AWS_ACCESS_KEY_ID: optionalText,
  AWS_SECRET_ACCESS_KEY: optionalText,
  AWS_SESSION_TOKEN: optionalText,
  AWS_PROFILE: optionalText,
  AWS_SHARED_CREDENTIALS_FILE: optionalText,
  AWS_WEB_IDENTITY_TOKEN_FILE: optionalText,
  AWS_ROLE_ARN: optionalText,
  SLIPWAY_MINIO_BIN: optionalText,
  SLIPWAY_MINIO_PORT: port.default(9000),
  SLIPWAY_MINIO_CONSOLE_PORT: port.default(9001),
  /**
   * Encrypt workflow payloads at rest in Temporal (AES-256-GCM): `id:base64key[,id:base64key]`,
   * the first encrypts, all decrypt. Unset: payloads are stored as plain JSON.
   */
  SLIPWAY_PAYLOAD_KEYS: optionalText,
  /**
   * Who runs the commands: recorded as the starter of runs, and the approver's default name.
   * Unset means the operating-system user.
   */
  SLIPWAY_USER: optionalText,
  /**
   * The installation's model-signing key (PEM, ECDSA P-256): every registered version is signed with
   * it. Unset: `<state dir>/keys/model-signing.pem`, made on first use. Workers on several machines
   * must share one key (mount the same file); it is never written to the artifact store.
   */
  SLIPWAY_MODEL_SIGNING_KEY: optionalText,
  /**
   * An installation-wide webhook every notification goes to (besides the namespaces' own, which
   * `slipway namespace set --webhook` configures): review requested, decided and timed out, version
   * blocked, promoted, rolled back, drift detected. Read by workers, which deliver.
   */
  SLIPWAY_WEBHOOK_URL: optionalText,
  /** The HMAC-SHA256 secret of SLIPWAY_WEBHOOK_URL; never written to a document, history or log. */
  SLIPWAY_WEBHOOK_SECRET: optionalText,
  /** `json` (the event, signed) or `slack` (a Slack-compatible `{text, blocks}` message, signed too). */
  SLIPWAY_WEBHOOK_FORMAT: z.enum(['json', 'slack']).default('json'),
  /** Delivery attempts of one notification to one webhook before it is dead-lettered in the audit log. */
  SLIPWAY_WEBHOOK_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(12),
  /** Seconds before the first retry of a delivery; each next one waits twice as long, at most 15 minutes. */
  SLIPWAY_WEBHOOK_RETRY_SECONDS: z.coerce.number().min(0.01).max(3600).default(5),
  /** Largest data source extraction reads, in bytes (default 2 GiB): bigger files are refused up front. */
  SLIPWAY_MAX_SOURCE_BYTES: z.coerce.number().int().positive().optional(),
  /**
   * `slipway serve`: the bearer token every scoring request must carry (unset: no token asked).
   * An environment variable rather than an option, so it does not show in the process list.
   */
  SLIPWAY_SERVE_TOKEN: optionalText,
  /**
   * Trainings one worker process runs at once, each in its own thread with its own copy of the
   * data and of tfjs. 1 by default: one training already keeps the cores busy, and memory grows
   * with every extra one; raise it on a machine with cores and memory to spare.
   */
  SLIPWAY_TRAINING_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(1),
  /**
   * Light activities (extraction, scaling, evaluation, export, registration) one worker process runs
   * at once on the main queue; unset: the SDK's default (100). Lower it on small machines: each
   * extraction or evaluation holds its data in memory.
   */
  SLIPWAY_WORKER_MAX_ACTIVITIES: z.coerce.number().int().min(1).max(1000).optional(),
  /** Workflow tasks one worker process runs at once (at least 2, for sticky execution); unset: the SDK's default (40). */
  SLIPWAY_WORKER_MAX_WORKFLOW_TASKS: z.coerce.number().int().min(2).max(1000).optional(),
  /**
   * Seconds a stopping worker (SIGTERM) lets running activities finish before cancelling them; a
   * cancelled training resumes from its last checkpoint on another worker. Default 30.
   */
  SLIPWAY_WORKER_SHUTDOWN_GRACE: z.coerce.number().min(0).max(3600).default(30),
  /**
   * Seconds a training worker may stay silent before its attempt moves to another worker (runs and
   * searches started from this client). Unset: 600. Trainings heartbeat every 2 s.
   */
  SLIPWAY_TRAINING_HEARTBEAT_TIMEOUT: z.coerce
    .number()
    .int()
    .min(5)
    .max(24 * 3600)
    .optional(),
  /** Force a tfjs backend: tensorflow | wasm-blas | wasm | cpu. Unset picks the fastest that loads. */
  SLIPWAY_TF_BACKEND: optionalText,
  /**
   * `off` (or 0, false, no): neither build (at install, native/blas-gemm/build.js reads it there)
   * nor use the native BLAS addon, training on tfjs; anything else is `auto`.
   */
  SLIPWAY_NATIVE_GEMM: z
    .string()
    .optional()
    .transform((v) =>
      ['off', '0', 'false', 'no'].includes((v ?? '').trim().toLowerCase()) ? 'off' : 'auto',
    ),
  /**
   * `off` (or 0, false, no): neither build (native/csv-scan/build.js reads it at install) nor use
   * the native CSV scanner, reading CSV in JavaScript (same values, more CPU); anything else is `auto`.
   */
  SLIPWAY_CSV_SCAN: z
    .string()
    .optional()
    .transform((v) =>
      ['off', '0', 'false', 'no'].includes((v ?? '').trim().toLowerCase()) ? 'off' : 'auto',
    ),
  /** BLAS threads per multiply; unset (or not a whole number from 1) means 1 for the native trainer, measured for wasm-blas. */
  SLIPWAY_BLAS_THREADS: z
    .string()
    .optional()
    .transform((v) => {
      const n = Number(v);
      return v !== undefined && Number.isInteger(n) && n >= 1 ? n : undefined;
    }),
  /** Threads for the native trainer's two batch halves (1 or 2); unset means measured at start-up. */
  SLIPWAY_TRAINER_THREADS: z
    .string()
    .optional()
    .transform((v) => (v === '1' ? 1 : v === '2' ? 2 : undefined)),
});

export type SlipwayEnv = z.infer<typeof envSchema>;

/**
 * Settings read where they take effect (the native addon's loader, a training thread) rather than
 * once at start-up, each from the environment now and through its schema above: the --help path
 * loads nothing for them, and a value set later (a test, a thread) is still heard.
 */
export const envNow = {
  nativeGemm: (source: NodeJS.ProcessEnv = process.env) =>
    envSchema.shape.SLIPWAY_NATIVE_GEMM.parse(source.SLIPWAY_NATIVE_GEMM),
  csvScan: (source: NodeJS.ProcessEnv = process.env) =>
    envSchema.shape.SLIPWAY_CSV_SCAN.parse(source.SLIPWAY_CSV_SCAN),
  blasThreads: (source: NodeJS.ProcessEnv = process.env) =>
    envSchema.shape.SLIPWAY_BLAS_THREADS.parse(source.SLIPWAY_BLAS_THREADS),
  trainerThreads: (source: NodeJS.ProcessEnv = process.env) =>
    envSchema.shape.SLIPWAY_TRAINER_THREADS.parse(source.SLIPWAY_TRAINER_THREADS),
  tfBackend: (source: NodeJS.ProcessEnv = process.env) =>
    envSchema.shape.SLIPWAY_TF_BACKEND.parse(source.SLIPWAY_TF_BACKEND),
};

export interface SlipwayConfig {
  env: SlipwayEnv;
  stateDir: string;
  binCache: string;
  /** True when no Temporal address was given, so Slipway starts and owns a local dev server. */
  embeddedTemporal: boolean;
  temporalAddress: string;
  namespace: string;
  taskQueue: string;
  trainingTaskQueue: string;
  /** SLIPWAY_TRAINING_CONCURRENCY: trainings (threads) per worker process. */
  trainingConcurrency: number;
  artifactsUri: string;
  /** SLIPWAY_USER, else the operating-system user name. */
  identity: string;
  /** SLIPWAY_MODEL_SIGNING_KEY, else <state dir>/keys/model-signing.pem. */
  modelSigningKeyPath: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads and validates the environment once; a bad value names the variable and what is allowed. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): SlipwayConfig {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(
      `Invalid Slipway environment:\n${lines.join('\n')}\nFix or unset these variables (see README, "Configuration").`,
    );
  }
  const env = parsed.data;
  const stateDir = resolve(env.SLIPWAY_STATE_DIR ?? join(REPO_ROOT, '.slipway'));
  const binCache = resolve(env.SLIPWAY_BIN_CACHE ?? join(homedir(), '.cache', 'slipway'));
  const artifactsUri = env.SLIPWAY_ARTIFACTS ?? `file://${join(stateDir, 'artifacts')}`;
  if (!/^(file|s3):\/\//.test(artifactsUri)) {
    throw new ConfigError(
      `SLIPWAY_ARTIFACTS must start with file:// or s3:// (got "${artifactsUri}"), for example s3://models/slipway.`,
    );
  }
  return {
    env,
    stateDir,
    binCache,
    embeddedTemporal: env.SLIPWAY_TEMPORAL_ADDRESS === undefined,
    temporalAddress: env.SLIPWAY_TEMPORAL_ADDRESS ?? `127.0.0.1:${env.SLIPWAY_TEMPORAL_PORT}`,
    namespace: env.SLIPWAY_TEMPORAL_NAMESPACE,
    taskQueue: env.SLIPWAY_TASK_QUEUE,
    trainingTaskQueue: env.SLIPWAY_TRAINING_TASK_QUEUE,
    trainingConcurrency: env.SLIPWAY_TRAINING_CONCURRENCY,
    artifactsUri,
    identity: env.SLIPWAY_USER ?? osUser(),
    modelSigningKeyPath: resolve(
      env.SLIPWAY_MODEL_SIGNING_KEY ?? join(stateDir, 'keys', 'model-signing.pem'),
    ),
  };
}

function osUser(): string {
  try {
    return userInfo().username || 'unknown';
  } catch {
    return process.env.USER ?? 'unknown'; // no passwd entry for this uid (some containers)
  }
}
