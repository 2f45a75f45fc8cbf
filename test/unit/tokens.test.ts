// docs/rules.md "Tokens": a fixed prefix, an underscore, >= 128 random bits and a CRC32 checksum, so a
// malformed token is rejected without a lookup; only a one-way SHA-256 hash is stored.
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { generateToken, hashToken, isWellFormedToken, TOKEN_PREFIX } from '../../src/domain/tokens.ts';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const PREFIX = 'keygate_';
const BODY_LENGTH = 43; // 43 base62 characters carry 256 random bits
const CHECKSUM_LENGTH = 6; // 6 base62 characters carry a 32-bit CRC
const LENGTH = PREFIX.length + BODY_LENGTH + CHECKSUM_LENGTH; // 57

/** Builds a token the way the format says (checksum = base62 CRC32 of the random part). */
function withChecksum(prefix: string, body: string): string {
  let value = crc32(body);
  let sum = '';
  while (value > 0) {
    sum = BASE62[value % 62] + sum;
    value = Math.floor(value / 62);
  }
  return `${prefix}${body}${sum.padStart(CHECKSUM_LENGTH, '0')}`;
}

const bodyOf = (token: string) => token.slice(PREFIX.length, PREFIX.length + BODY_LENGTH);
const decodeBase62 = (digits: string) =>
  [...digits].reduce((value, digit) => value * 62n + BigInt(BASE62.indexOf(digit)), 0n);
const tokens = Array.from({ length: 5_000 }, generateToken);

describe('Tokens: format', () => {
  it('the prefix is "keygate_"', () => {
    expect(TOKEN_PREFIX).toBe(PREFIX);
  });

  it('every token is the prefix, 43 random base62 characters and a 6-character base62 checksum', () => {
    const pattern = new RegExp(`^${PREFIX}[0-9A-Za-z]{${BODY_LENGTH + CHECKSUM_LENGTH}}$`);
    for (const token of tokens) {
      expect(token).toMatch(pattern);
      expect(token).toHaveLength(LENGTH);
    }
  });

  it('the random part carries 256 bits: every one of its bits varies across generated tokens', () => {
    // Decoded, each body is a number below 2^256 whose every bit is set in about half of the tokens
    // (binomial, n = 5,000: 0.5 ± 0.05 is over 7 standard deviations wide). A generator of fewer bits
    // leaves high bits always 0; a biased one pushes some bit out of the band.
    const setCounts = new Array<number>(256).fill(0);
    for (const token of tokens) {
      const value = decodeBase62(bodyOf(token));
      expect(value < 1n << 256n).toBe(true);
      for (let bit = 0; bit < 256; bit++) if ((value >> BigInt(bit)) & 1n) setCounts[bit] = (setCounts[bit] ?? 0) + 1;
    }
    for (let bit = 0; bit < 256; bit++) {
      const share = (setCounts[bit] ?? 0) / tokens.length;
      expect(share, `bit ${bit}`).toBeGreaterThan(0.45);
      expect(share, `bit ${bit}`).toBeLessThan(0.55);
    }
  });

  it('the suffix is the CRC32 of the random part', () => {
    for (const token of tokens.slice(0, 500)) expect(withChecksum(PREFIX, bodyOf(token))).toBe(token);
  });

  it('every generated token is well formed', () => {
    for (const token of tokens) expect(isWellFormedToken(token)).toBe(true);
  });
});

describe('Tokens: come from a CSPRNG', () => {
  it('5,000 tokens are all different, and so are their random parts', () => {
    expect(new Set(tokens).size).toBe(tokens.length);
    expect(new Set(tokens.map(bodyOf)).size).toBe(tokens.length);
  });

  it('every base62 character appears in every random position across many tokens', () => {
    // 5,000 draws per position over 62 characters: a missing character means a biased or fixed position
    // (the first position is the exception: 256 bits do not fill 43 base62 digits, so it is small).
    for (let position = 1; position < BODY_LENGTH; position++) {
      const seen = new Set(tokens.map((token) => bodyOf(token)[position]));
      expect(seen.size, `position ${position}`).toBe(62);
    }
  });
});

describe('Tokens: the checksum rejects any single-character change', () => {
  it.each([0, 1, 2, 3, 4])('every one-character substitution of token #%i is rejected', (index) => {
    const token = tokens[index] as string;
    const replacements = `${BASE62}_-`;
    let tried = 0;
    for (let position = 0; position < token.length; position++) {
      for (const replacement of replacements) {
        if (replacement === token[position]) continue;
        const changed = token.slice(0, position) + replacement + token.slice(position + 1);
        expect(isWellFormedToken(changed), changed).toBe(false);
        tried++;
      }
    }
    expect(tried).toBe(LENGTH * (replacements.length - 1));
  });

  it.each([0, 1, 2, 3, 4])('swapping two adjacent different characters of token #%i is rejected', (index) => {
    const token = tokens[index] as string;
    for (let position = PREFIX.length; position < token.length - 1; position++) {
      if (token[position] === token[position + 1]) continue;
      const swapped = token.slice(0, position) + token[position + 1] + token[position] + token.slice(position + 2);
      expect(isWellFormedToken(swapped), swapped).toBe(false);
    }
  });
});

describe('Tokens: isWellFormedToken rejects wrong prefix, length or alphabet even with a valid checksum', () => {
  const token = tokens[0] as string;
  const body = bodyOf(token);

  it('the checksum helper agrees with the server (control)', () => {
    expect(isWellFormedToken(withChecksum(PREFIX, body))).toBe(true);
  });

  it.each([
    { name: 'no prefix', token: withChecksum('', body) },
    { name: 'another product prefix', token: withChecksum('keygat3_', body) },
    { name: 'an upper-case prefix', token: withChecksum('KEYGATE_', body) },
    { name: 'a prefix without underscore', token: withChecksum('keygate', body) },
    { name: 'a prefix with a dash', token: withChecksum('keygate-', body) },
    { name: 'a doubled prefix', token: withChecksum(`${PREFIX}${PREFIX}`, body.slice(PREFIX.length)) },
    { name: 'a random part one character short', token: withChecksum(PREFIX, body.slice(1)) },
    { name: 'a random part one character long', token: withChecksum(PREFIX, `${body}a`) },
    { name: 'a much shorter random part (128 bits)', token: withChecksum(PREFIX, body.slice(0, 22)) },
    { name: 'a dash in the random part', token: withChecksum(PREFIX, `-${body.slice(1)}`) },
    { name: 'an underscore in the random part', token: withChecksum(PREFIX, `${body.slice(0, -1)}_`) },
    { name: 'a plus in the random part', token: withChecksum(PREFIX, `${body.slice(0, 10)}+${body.slice(11)}`) },
    { name: 'a space in the random part', token: withChecksum(PREFIX, `${body.slice(0, 10)} ${body.slice(11)}`) },
    { name: 'a non-ASCII letter in the random part', token: withChecksum(PREFIX, `é${body.slice(1)}`) },
    { name: 'a trailing newline', token: `${token}\n` },
    { name: 'a leading space', token: ` ${token}` },
    { name: 'a trailing space', token: `${token} ` },
    { name: 'a missing last character', token: token.slice(0, -1) },
    { name: 'an extra last character', token: `${token}0` },
    { name: 'the empty string', token: '' },
    { name: 'the prefix alone', token: PREFIX },
    { name: 'a Bearer header value', token: `Bearer ${token}` },
  ])('rejects $name', ({ token: candidate }) => {
    expect(isWellFormedToken(candidate)).toBe(false);
  });
});

describe('Tokens: only a one-way SHA-256 hash is kept', () => {
  it('the hash is the SHA-256 of the token, as lowercase hex (known vector)', () => {
    expect(hashToken('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('hashes are 64 hex characters, stable, and differ from the token and reveal no part of it', () => {
    for (const token of tokens.slice(0, 200)) {
      const hash = hashToken(token);
      expect(hash).toMatch(/^[0-9a-f]{64}$/);
      expect(hashToken(token)).toBe(hash);
      expect(hash).not.toBe(token);
      expect(hash).not.toContain(bodyOf(token).slice(0, 12));
    }
  });

  it('different tokens have different hashes', () => {
    expect(new Set(tokens.map(hashToken)).size).toBe(tokens.length);
  });
});
