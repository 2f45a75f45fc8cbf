// docs/rules.md "Tokens": the random part comes from a CSPRNG. With node:crypto's randomBytes replaced by
// a recorder, the body of a generated token must be exactly the base62 of the 32 bytes it returned: a
// body drawn from anywhere else (Math.random, a counter, a clock) fails. The recorder hands out fresh
// real random bytes, so the rest of the module behaves as usual.
import { randomBytes as realRandomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';

const drawn: Buffer[] = [];
vi.mock('node:crypto', async (importOriginal) => {
  const original = await importOriginal<typeof import('node:crypto')>();
  const randomBytes = (size: number) => {
    const bytes = original.randomBytes(size);
    drawn.push(Buffer.from(bytes));
    return bytes;
  };
  return { ...original, default: { ...original, randomBytes }, randomBytes };
});

const { generateToken, TOKEN_PREFIX } = await import('../../src/domain/tokens.ts');

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
function base62(bytes: Buffer, width: number): string {
  let value = BigInt(`0x${bytes.toString('hex')}`);
  let out = '';
  while (value > 0n) {
    out = BASE62[Number(value % 62n)] + out;
    value /= 62n;
  }
  return out.padStart(width, '0');
}

describe('Tokens: the random part is the CSPRNG output itself', () => {
  it('each token body is the base62 of the 32 bytes randomBytes returned for it', () => {
    expect(realRandomBytes(1)).toHaveLength(1); // the real module is still reachable here
    for (let i = 0; i < 200; i++) {
      drawn.length = 0;
      const token = generateToken();
      expect(drawn.map((bytes) => bytes.length)).toEqual([32]);
      const body = token.slice(TOKEN_PREFIX.length, TOKEN_PREFIX.length + 43);
      expect(body).toBe(base62(drawn[0] as Buffer, 43));
    }
  });
});

describe('Tokens: nothing in src/ draws randomness from Math.random', () => {
  const files = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      if (name === 'generated') return [];
      return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
    });

  it('no source file calls Math.random', () => {
    const offenders = files('src').filter((path) => /Math\.random\s*\(/.test(readFileSync(path, 'utf8')));
    expect(offenders).toEqual([]);
  });
});
