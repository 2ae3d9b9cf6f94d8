import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { NamespacePolicy } from '../../domain/access/policy';
import { applyPolicyChange } from '../../domain/access/policyChanges';
import { modelEvent, notificationEventSchema, slackMessage } from '../../domain/notify/events';
import { redactUrl, wantsEvent, webhookBody, webhookTargetSchema } from '../../domain/notify/targets';
import {
  signedHeaders,
  verifyWebhookSignature,
  webhookSignature,
} from '../../domain/notify/webhookSignature';
import { publicKeyText } from '../../domain/signing/keys';

const event = modelEvent({
  type: 'review.decided',
  model: 'secops/botnet',
  version: 3,
  occurredAt: '2026-11-30T03:00:00.000Z',
  summary: 'secops/botnet v3 approved by alice (signed): <looks> & fine',
  details: { decision: 'approved', approver: 'alice' },
  workflowId: 'import-secops.botnet-1',
  runId: 'r1',
});

describe('webhook signatures', () => {
  it('signs "<timestamp>.<body>" with HMAC-SHA256 (the value openssl dgst -sha256 -hmac gives)', () => {
    // printf '%s' '1700000000.{"id":"e1"}' | openssl dgst -sha256 -hmac whsec_test
    expect(webhookSignature('whsec_test', 1700000000, '{"id":"e1"}')).toBe(
      'v1=6a85cb117c993612a34c72b4cfb5a16baed25a80d26e298ce0e6671320fd07c8',
    );
  });

  it('verifies its own headers, and refuses a changed body, another secret, an old timestamp or missing headers', () => {
    const now = 1_790_000_000_000;
    const body = webhookBody(event, 'json');
    const headers = signedHeaders('s3cret', body, event, now);
    expect(headers['slipway-event-id']).toBe(event.id);
    const check = (over: Partial<Parameters<typeof verifyWebhookSignature>[0]>) =>
      verifyWebhookSignature({
        secret: 's3cret',
        body,
        signatureHeader: headers['slipway-signature'],
        timestampHeader: headers['slipway-timestamp'],
        nowMs: now + 2_000,
        ...over,
      });
    expect(check({})).toEqual({ ok: true, timestamp: now / 1000 });
    expect(check({ body: body.replace('alice', 'alicf') })).toMatchObject({
      ok: false,
      problem: /does not match/,
    });
    expect(check({ secret: 'other' })).toMatchObject({ ok: false });
    expect(check({ nowMs: now + 301_000 })).toMatchObject({ ok: false, problem: /replay/ });
    expect(check({ timestampHeader: undefined })).toMatchObject({
      ok: false,
      problem: /missing slipway-timestamp/,
    });
    expect(check({ timestampHeader: '17e8' })).toMatchObject({ ok: false });
    // While a secret is rotated a receiver may check several; a sender's list passes if one matches.
    expect(check({ signatureHeader: `v1=${'0'.repeat(64)}, ${headers['slipway-signature']}` }).ok).toBe(true);
  });
});

describe('notification payloads', () => {
  it('builds a stable id per run and type, and the namespace of the model', () => {
    expect(event.id).toBe('import-secops.botnet-1/r1/review.decided');
    expect(event.namespace).toBe('secops');
    expect(modelEvent({ ...event, model: 'card-fraud', idSuffix: 'x' }).namespace).toBe('default');
    expect(notificationEventSchema.parse(JSON.parse(webhookBody(event, 'json')))).toEqual(event);
  });

  it('formats a Slack-compatible message: text first, facts as fields, Slack control characters escaped', () => {
    const message = JSON.parse(webhookBody(event, 'slack'));
    expect(message.text).toBe(`[slipway] Review decided: ${event.summary}`);
    expect(message.blocks[0].text.text).toContain('&lt;looks&gt; &amp; fine');
    expect(message.blocks[1].fields.map((f: { text: string }) => f.text)).toContain(
      '*Model*\nsecops/botnet v3',
    );
    expect(slackMessage(event).blocks[2]).toMatchObject({ type: 'context' });
  });

  it('takes a webhook only with what it needs to be signed, and never a secret itself', () => {
    const ok = webhookTargetSchema.parse({ url: 'https://hooks.example.org/a', secretEnv: 'HOOK_SECRET' });
    expect(ok.format).toBe('json');
    expect(wantsEvent(ok, 'version.blocked')).toBe(true);
    const only = webhookTargetSchema.parse({ ...ok, events: ['version.promoted'] });
    expect(wantsEvent(only, 'version.blocked')).toBe(false);
    expect(wantsEvent(only, 'test')).toBe(true);
    const refused = (target: unknown) => webhookTargetSchema.safeParse(target).error?.issues[0]?.message;
    expect(refused({ url: 'https://hooks.example.org/a' })).toMatch(/name the environment variable/);
    expect(refused({ url: 'ftp://x/y', secretEnv: 'S' })).toMatch(/http/);
    expect(refused({ url: 'https://a/b', urlEnv: 'U', secretEnv: 'S' })).toMatch(/not both/);
    expect(refused({ urlEnv: 'not a name', format: 'slack' })).toMatch(/environment variable/);
    expect(webhookTargetSchema.parse({ urlEnv: 'SLACK_URL', format: 'slack' }).secretEnv).toBeUndefined();
    expect(redactUrl('https://u:p@hooks.slack.com/services/T/B/X?token=abc')).toBe(
      'https://hooks.slack.com/services/T/B/X?…',
    );
  });
});

describe('namespace set merges into the policy', () => {
  const key = () => publicKeyText(generateKeyPairSync('ed25519').publicKey);
  const [aliceKey, bobKey, bobKey2] = [key(), key(), key()];
  const current: NamespacePolicy = {
    namespace: 'secops',
    admins: ['erin'],
    members: ['carol', 'dave'],
    approvers: ['alice', 'bob'],
    approverKeys: { alice: [aliceKey], bob: [bobKey] },
    allowUnsigned: true,
    protectedAliases: { production: ['erin'] },
    webhooks: [{ url: 'https://a.example/h', secretEnv: 'A', format: 'json' }],
    updatedBy: 'erin',
    updatedAt: '2026-11-30T00:00:00.000Z',
  };

  it('changes only what is given: lists replace, keys merge by person, aliases by alias, webhooks by URL', () => {
    const next = applyPolicyChange('secops', current, {
      set: {
        members: ['frank'],
        approverKeys: { bob: [bobKey2] },
        protectedAliases: { staging: [] },
        webhooks: [
          { url: 'https://a.example/h', secretEnv: 'A2', format: 'slack' },
          { url: 'https://b.example/h', secretEnv: 'B', format: 'json' },
        ],
      },
    });
    expect(next).toMatchObject({
      admins: ['erin'],
      members: ['frank'],
      approvers: ['alice', 'bob'],
      approverKeys: { alice: [aliceKey], bob: [bobKey2] },
      allowUnsigned: true,
      protectedAliases: { production: ['erin'], staging: [] },
    });
    expect(next.webhooks?.map((w) => `${w.url} ${w.secretEnv} ${w.format}`)).toEqual([
      'https://a.example/h A2 slack',
      'https://b.example/h B json',
    ]);
  });

  it('clears settings before setting, so a map can be replaced whole; admins are needed for a new policy only', () => {
    const next = applyPolicyChange('secops', current, {
      set: { approverKeys: { bob: [bobKey2] } },
      clear: ['approverKeys', 'allowUnsigned', 'members', 'webhooks'],
    });
    expect(next.approverKeys).toEqual({ bob: [bobKey2] });
    expect(next.allowUnsigned).toBeUndefined();
    expect(next.members).toEqual([]);
    expect(next.webhooks).toBeUndefined();
    expect(next.admins).toEqual(['erin']);
    expect(() => applyPolicyChange('fresh', undefined, { set: { members: ['carol'] } })).toThrow(
      /has no policy yet: a new one needs its admins/,
    );
    expect(applyPolicyChange('fresh', undefined, { set: { admins: ['erin'] } })).toEqual({
      admins: ['erin'],
      members: [],
    });
  });
});
