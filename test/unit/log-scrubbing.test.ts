// src/logger.ts's scrubber, the last line of defence applied to every log line: no token of either kind
// (also percent-encoded in part or whole, once or twice, or run together with other characters, as a
// client may send it in a path), no SHA-256 hex digest and no password in a connection URL reaches the
// output; and it takes time in proportion to the line, so that a request cannot make its own log line
// expensive. And a request id that may hold a token is not repeated (src/observability/request-id.ts).
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateToken, generateVerifierToken } from '../../src/domain/tokens.ts';
import { scrubSecrets } from '../../src/logger.ts';
import { requestIdOf } from '../../src/observability/request-id.ts';

/** The token's secret part: its random part and checksum, after the prefix. */
const secretOf = (token: string) => token.slice(token.lastIndexOf('_') + 1);

describe('the log scrubber', () => {
  it('redacts API key and verifier tokens whole, wherever they are in a line', () => {
    const key = generateToken();
    const verifier = generateVerifierToken();
    const line = JSON.stringify({ msg: `got ${key} and ${verifier}`, path: `/x/${verifier}`, id: key });
    const scrubbed = scrubSecrets(line);
    for (const token of [key, verifier]) expect(scrubbed).not.toContain(secretOf(token));
    expect(scrubbed).toContain('keygate_[redacted]');
  });

  /** Every character of `text` percent-encoded. */
  const encodedWhole = (text: string) =>
    [...text].map((c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`).join('');

  it('finds a token by its secret part, whatever surrounds or encodes it (a path as a client sent it)', () => {
    const key = generateToken();
    const verifier = generateVerifierToken();
    const secret = secretOf(key);
    const sent = [
      `/nope/keygate%5F${secret}`,
      `/nope/%6Beygate_${secret}?x=1`,
      `/nope/keygate%5fverifier%5F${secretOf(verifier)}%20`,
      `/nope/${encodedWhole(key)}`,
      `/nope/${encodedWhole(verifier)}`,
      `/nope/keygate%255F${secret}`,
      `/nope/keygate%2525255F${secret.slice(0, 20)}%2525254A${secret.slice(21)}`,
      `/nope/${'%25'.repeat(12)}41${secret}`,
      `/nope/${key.slice(0, 20)}${encodedWhole(key.slice(20, 30))}${key.slice(30)}`,
      `/nope/keygate%5F${secret}x`,
      `/nope/x${secret}`,
      `/nope/${secret}${secret}`,
      `/nope/${secret}`,
    ];
    for (const path of sent) {
      const scrubbed = scrubSecrets(JSON.stringify({ path }));
      for (const token of [key, verifier]) {
        // Not the secret, nor any 20 characters of it.
        for (let at = 0; at + 20 <= 49; at += 10) {
          expect(scrubbed, path).not.toContain(secretOf(token).slice(at, at + 20));
        }
      }
      expect(scrubbed).toContain('[redacted]');
    }
  });

  it('leaves what is shorter than a token alone: ids, cursors, an ordinary query string', () => {
    const kept = {
      id: '01M98A3YRYTDN1M2YV6JSYRQ6N',
      cursor: 'YXBpa2V5OjAxTTk4QTNZUllURE4xTTJZVjZKU1lSUTZO',
      path: '/graphql?query=%7B%20currentApiKey%20%7B%20id%20%7D%20%7D',
      partial: `keygate%5F${'A'.repeat(30)}`,
    };
    const line = JSON.stringify(kept);
    expect(scrubSecrets(line)).toBe(line);
  });

  it('keeps a request id unless it may hold a token, which the answer would repeat in its headers', () => {
    const key = generateToken();
    const secret = secretOf(key);
    for (const id of ['3f2a9c1e-1a', 'f47ac10b-58cc-4372-a567-0e02b2c3d479', '1-5759e988-bd862e3fe1be46a994272793']) {
      expect(requestIdOf(id)).toBe(id);
    }
    for (const id of [key, `x${secret}`, `${secret}0`, `${key}x`, `${secret}${secret}`, 'a'.repeat(49)]) {
      const given = requestIdOf(id);
      expect(given).not.toBe(id);
      expect(given).not.toContain(secret.slice(0, 20));
    }
  });

  it('redacts SHA-256 hex digests and passwords in connection URLs', () => {
    const digest = createHash('sha256').update(generateToken()).digest('hex');
    const scrubbed = scrubSecrets(
      JSON.stringify({ hash: digest, url: 'postgres://keygate:s3cret-pw@db.internal:5432/keygate' }),
    );
    expect(scrubbed).not.toContain(digest);
    expect(scrubbed).not.toContain('s3cret-pw');
    expect(scrubbed).toContain('postgres://keygate:[redacted]@db.internal');
  });

  // Not a speed target: the shape of the cost. One line of 32,000 characters against 32 lines of 1,000
  // (the same characters), each scrubbed five times, the smallest of several trials by the wall clock
  // (the CPU clock counts in scheduler ticks of milliseconds). In proportion, the long line costs about
  // as much as the 32 short ones; in the square of the length, as the URL pattern cost before its scheme
  // was anchored (127 ms of CPU for one request's log line of 15,000), 32 times as much. The bound, 8
  // times, leaves room for a busy machine either way.
  it.each(['a', 'a.', 'a://b:', '%5F', '%2', 'a%4', 'keygate_', 'x'.repeat(49), `${'x'.repeat(48)}%41`])(
    'takes time in proportion to a line made of %j repeated',
    (unit) => {
      const of = (length: number) => JSON.stringify({ path: `/${unit.repeat(Math.ceil(length / unit.length))}` });
      const long = of(32_000);
      const short = of(1_000);
      const smallest = (run: () => void) => {
        // Warmed up first: V8 runs a regular expression's first executions in its interpreter.
        for (let i = 0; i < 5; i++) run();
        let best = Number.POSITIVE_INFINITY;
        for (let trial = 0; trial < 9; trial++) {
          const started = performance.now();
          run();
          best = Math.min(best, performance.now() - started);
        }
        return best;
      };
      const shortLines = smallest(() => {
        for (let i = 0; i < 32 * 5; i++) scrubSecrets(short);
      });
      const longLine = smallest(() => {
        for (let i = 0; i < 5; i++) scrubSecrets(long);
      });
      expect(longLine).toBeLessThan(8 * Math.max(shortLines, 0.5));
    },
  );
});
