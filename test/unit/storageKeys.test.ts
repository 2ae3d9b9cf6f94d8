import { describe, expect, it } from 'vitest';
import {
  ArtifactOutsideStoreError,
  InvalidArtifactRefError,
  InvalidStoreKeyError,
  StorageConfigError,
} from '../../domain/storage/errors';
import {
  assertDocumentKey,
  assertKind,
  assertValidKey,
  assertValidPrefix,
  contentKey,
  isContentKey,
  keyOfRef,
  normalizeExtension,
} from '../../domain/storage/keys';
import { parseS3Uri } from '../../domain/storage/s3Client';

const hex = 'ab'.repeat(32);

describe('content-addressed key layout', () => {
  it('puts kind first, then the hash, then the cosmetic extension', () => {
    expect(contentKey('dataset', hex, '.arrow')).toBe(`dataset/sha256/${hex}.arrow`);
    expect(contentKey('onnx', hex, 'onnx')).toBe(`onnx/sha256/${hex}.onnx`);
    expect(contentKey('report', hex)).toBe(`report/sha256/${hex}`);
    expect(contentKey('source', hex, '.tar.gz')).toBe(`source/sha256/${hex}.tar.gz`);
  });

  it('recognises content keys and nothing else', () => {
    expect(isContentKey(`model/sha256/${hex}.json`)).toBe(true);
    expect(isContentKey(`model/sha256/${hex}`)).toBe(true);
    expect(isContentKey(`model/sha256/${hex.slice(1)}`)).toBe(false);
    expect(isContentKey(`nonsense/sha256/${hex}`)).toBe(false);
    expect(isContentKey(`registry/model/sha256/${hex}`)).toBe(false);
  });

  it('rejects extensions that are not letters and digits after dots', () => {
    for (const bad of ['.', '..', '.a/b', '.a b', '.tar.', `.${'x'.repeat(30)}`]) {
      expect(() => normalizeExtension(bad)).toThrow(InvalidStoreKeyError);
    }
    expect(normalizeExtension(undefined)).toBe('');
    expect(normalizeExtension('')).toBe('');
  });
});

describe('store key validation', () => {
  it('accepts ordinary relative keys', () => {
    for (const key of ['a', 'registry/fraud/versions/3.json', 'lineage/run=1/x_y-z@2+3,4~5.json', 'a.b/c']) {
      expect(() => assertValidKey(key)).not.toThrow();
    }
  });

  it('rejects keys that could escape the store, hide in .tmp or need escaping in a URI', () => {
    const cases: Array<[string, RegExp]> = [
      ['', /empty/],
      ['/abs', /starts with "\/"/],
      ['dir/', /ends with "\/"/],
      ['a//b', /empty segment/],
      ['../up', /segment "\.\." is not allowed/],
      ['a/./b', /segment "\." is not allowed/],
      ['.tmp/x', /segment "\.tmp"/],
      ['a/b c', /segment "b c"/],
      ['a/b?c', /segment "b\?c"/],
      ['a\\b', /segment/],
      ['x'.repeat(901), /longer than 900/],
    ];
    for (const [key, why] of cases) {
      const error = (() => {
        try {
          assertValidKey(key);
        } catch (e) {
          return e as InvalidStoreKeyError;
        }
        throw new Error(`"${key}" was accepted`);
      })();
      expect(error).toBeInstanceOf(InvalidStoreKeyError);
      expect(error).toMatchObject({ type: 'InvalidStoreKey', retryable: false });
      expect(error.message).toMatch(why);
    }
  });

  it('keeps documents off content-addressed keys', () => {
    expect(() => assertDocumentKey(`scaler/sha256/${hex}.json`)).toThrow(/content-addressed/);
    expect(() => assertDocumentKey('registry/fraud/aliases/champion.json')).not.toThrow();
  });

  it('accepts list prefixes that end anywhere, but not ones that escape', () => {
    for (const prefix of ['', 'dataset/', 'dataset/sha256/ab', 'registry/fr']) {
      expect(() => assertValidPrefix(prefix)).not.toThrow();
    }
    for (const prefix of ['../', '/abs', 'a//', '.tmp/', 'a/../b', 'a b']) {
      expect(() => assertValidPrefix(prefix)).toThrow(InvalidStoreKeyError);
    }
  });
});

describe('parseS3Uri', () => {
  it('splits bucket and key and trims slashes', () => {
    expect(parseS3Uri('s3://models/slipway')).toEqual({ bucket: 'models', key: 'slipway' });
    expect(parseS3Uri('s3://models/slipway/')).toEqual({ bucket: 'models', key: 'slipway' });
    expect(parseS3Uri('s3://models')).toEqual({ bucket: 'models', key: '' });
    expect(parseS3Uri('s3://models/')).toEqual({ bucket: 'models', key: '' });
    expect(parseS3Uri('s3://my.data-1/raw/2024/fraud.csv')).toEqual({
      bucket: 'my.data-1',
      key: 'raw/2024/fraud.csv',
    });
  });

  it('says what a valid URI looks like', () => {
    for (const bad of [
      'models/x',
      'http://models/x',
      's3://',
      's3://UPPER/x',
      's3://ab/x',
      's3://a..b/x',
      's3://b_b/x',
    ]) {
      expect(() => parseS3Uri(bad)).toThrow(StorageConfigError);
      expect(() => parseS3Uri(bad)).toThrow(/s3:\/\/<bucket>\/<key>/);
    }
    expect(() => parseS3Uri('s3://models/a/../b')).toThrow(/"\." and "\.\."/);
  });
});

describe('keyOfRef', () => {
  const ref = {
    uri: `s3://models/slipway/onnx/sha256/${hex}.onnx`,
    sha256: hex,
    bytes: 10,
    mediaType: 'application/onnx',
    kind: 'onnx' as const,
  };

  it('returns the store-relative key of a ref in this store', () => {
    expect(keyOfRef('s3://models/slipway', ref)).toBe(`onnx/sha256/${hex}.onnx`);
  });

  it('rejects refs from elsewhere, including a location that is only a string prefix', () => {
    expect(() => keyOfRef('s3://models/other', ref)).toThrow(ArtifactOutsideStoreError);
    expect(() => keyOfRef('s3://models/slip', ref)).toThrow(
      /not in the configured store s3:\/\/models\/slip\b/,
    );
  });

  it('rejects malformed refs, saying which field is wrong', () => {
    const error = (() => {
      try {
        keyOfRef('s3://models/slipway', { ...ref, sha256: 'XYZ', bytes: -1 });
      } catch (e) {
        return e as InvalidArtifactRefError;
      }
      throw new Error('accepted');
    })();
    expect(error).toBeInstanceOf(InvalidArtifactRefError);
    expect(error).toMatchObject({ type: 'InvalidArtifactRef', retryable: false });
    expect(error.message).toMatch(/sha256: sha256 must be 64 lowercase hex/);
    expect(error.message).toMatch(/bytes:/);
    expect(() => keyOfRef('s3://models/slipway', { ...ref, uri: 's3://models/slipway/../x' })).toThrow(
      InvalidStoreKeyError,
    );
  });

  it('knows the artifact kinds', () => {
    expect(() => assertKind('model')).not.toThrow();
    expect(() => assertKind('weights')).toThrow(/Unknown artifact kind "weights"; expected one of dataset/);
  });
});
