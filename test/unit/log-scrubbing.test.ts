// src/logger.ts's scrubber, the last line of defence applied to every log line: no token of either kind
// (also with its prefix percent-encoded, as a client may send it in a path), no SHA-256 hex digest and
// no password in a connection URL reaches the output; and it takes time in proportion to the line, so
// that a request cannot make its own log line expensive.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateToken, generateVerifierToken, isTokenSecret } from '../../src/domain/tokens.ts';
import { scrubSecrets } from '../../src/logger.ts';

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

  it('finds a token by its secret part when the prefix does not read as one (percent-encoded in a path)', () => {
    const key = generateToken();
    const verifier = generateVerifierToken();
    const paths = [
      `/nope/keygate%5F${secretOf(key)}`,
      `/nope/%6Beygate_${secretOf(key)}?x=1`,
      `/nope/keygate%5fverifier%5F${secretOf(verifier)}%20`,
      `/nope/${secretOf(key)}`,
    ];
    for (const path of paths) {
      const scrubbed = scrubSecrets(JSON.stringify({ path }));
      expect(scrubbed).not.toContain(secretOf(key));
      expect(scrubbed).not.toContain(secretOf(verifier));
      expect(scrubbed).toContain('[redacted token]');
    }
  });

  it('leaves runs of letters and digits that are not a token alone: ids, cursors, a token with a bad checksum', () => {
    const key = generateToken();
    const mistyped = `${secretOf(key).slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`;
    expect(isTokenSecret(mistyped)).toBe(false);
    const kept = {
      id: '01M98A3YRYTDN1M2YV6JSYRQ6N',
      cursor: 'YXBpa2V5OjAxTTk4QTNZUllURE4xTTJZVjZKU1lSUTZOAAAAA',
      mistyped: `/x/${mistyped}`,
    };
    const line = JSON.stringify(kept);
    expect(scrubSecrets(line)).toBe(line);
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

  // Not a speed target: the shape of the cost. One line of 16,000 characters against 16 lines of 1,000
  // (the same characters), smallest of several trials. In proportion, the long line costs about as much
  // as the 16 short ones; in the square of the length, as the URL pattern cost before its scheme was
  // anchored (127 ms of CPU for one request's log line), 16 times as much.
  it.each(['a', 'a.', 'a://b:', '%5F', 'keygate_', 'x'.repeat(49)])(
    'takes time in proportion to a line made of %j repeated',
    (unit) => {
      const of = (length: number) => JSON.stringify({ path: `/${unit.repeat(Math.ceil(length / unit.length))}` });
      const long = of(16_000);
      const short = of(1_000);
      const smallest = (run: () => void) => {
        let best = Number.POSITIVE_INFINITY;
        for (let trial = 0; trial < 7; trial++) {
          const started = process.cpuUsage();
          run();
          const used = process.cpuUsage(started);
          best = Math.min(best, used.user + used.system);
        }
        return best;
      };
      const shortLines = smallest(() => {
        for (let i = 0; i < 16; i++) scrubSecrets(short);
      });
      const longLine = smallest(() => scrubSecrets(long));
      expect(longLine).toBeLessThan(4 * Math.max(shortLines, 200));
    },
  );
});
