// docs/operations.md "Secret scanning": the regular expression and the gitleaks rule it documents,
// read from the document itself, find tokens Keygate generates (alone and in the text around them) and
// nothing that merely looks like one.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  generateToken,
  generateVerifierToken,
  isWellFormedToken,
  isWellFormedVerifierToken,
  TOKEN_LENGTH,
  TOKEN_PREFIX,
  VERIFIER_TOKEN_PREFIX,
} from '../src/domain/tokens.ts';

const doc = readFileSync(new URL('../docs/operations.md', import.meta.url), 'utf8');
const section = doc.slice(doc.indexOf('## Secret scanning'));
const documented = /```regex\n(.+)\n```/.exec(section)?.[1] as string;
const gitleaks = /```toml\n([\s\S]*?)```/.exec(section)?.[1] as string;
const ruleRegex = /^regex = '''(.+)'''$/m.exec(gitleaks ?? '')?.[1] as string;

/** Every match of a documented pattern in `text`. */
const scan = (pattern: string, text: string) => [...text.matchAll(new RegExp(pattern, 'g'))].map((m) => m[0]);

describe('docs/operations.md secret scanning', () => {
  it('documents a regular expression and a gitleaks rule with the same pattern', () => {
    expect(documented).toBeTruthy();
    expect(ruleRegex).toBe(documented);
    expect(gitleaks).toMatch(/^\[\[rules\]\]$/m);
    expect(gitleaks).toMatch(/^id = "keygate-api-token"$/m);
    expect(gitleaks).toContain(`keywords = ["${TOKEN_PREFIX}"]`);
  });

  it('finds every generated token, alone and inside the text it usually travels in', () => {
    for (let i = 0; i < 500; i++) {
      const token = generateToken();
      expect(token).toHaveLength(TOKEN_LENGTH);
      for (const text of [
        token,
        `Authorization: Bearer ${token}\n`,
        `{"token":"${token}"}`,
        `export TOKEN=${token}`,
        `curl -H 'Authorization: Bearer ${token}' http://127.0.0.1:4000/graphql`,
        `token=${token}&next=1`,
      ]) {
        expect(scan(documented, text), text).toEqual([token]);
      }
    }
  });

  it('finds nothing in near misses: a character short or over, another prefix or case, a foreign character', () => {
    const token = generateToken();
    const body = token.slice(TOKEN_PREFIX.length);
    const nearMisses = [
      token.slice(0, -1), // 48 characters after the prefix
      `${token}A`, // 50
      `${token}0123`,
      `keygat_${body}`,
      `KEYGATE_${body}`,
      `Keygate_${body}`,
      `keygate-${body}`,
      `keygate_${body.slice(0, 20)}-${body.slice(21)}`,
      `keygate_${body.slice(0, 20)}_${body.slice(21)}`,
      `keygate_${body.slice(0, 20)}é${body.slice(21)}`,
      `xkeygate_${body}`,
      `keygate_${'0'.repeat(48)}`,
      'keygate_',
      'keygate_example',
    ];
    for (const text of nearMisses) {
      expect(scan(documented, text), text).toEqual([]);
      expect(isWellFormedToken(text)).toBe(false);
    }
  });
});

describe('docs/operations.md secret scanning: verifier tokens', () => {
  const regexes = [...section.matchAll(/```regex\n(.+)\n```/g)].map((match) => match[1] as string);
  const rules = [...section.matchAll(/```toml\n([\s\S]*?)```/g)].map((match) => match[1] as string);
  const verifierRegex = regexes[1] as string;
  const verifierRule = rules[1] as string;

  it('documents a second pattern and gitleaks rule for verifier tokens', () => {
    expect(regexes).toHaveLength(2);
    expect(/^regex = '''(.+)'''$/m.exec(verifierRule)?.[1]).toBe(verifierRegex);
    expect(verifierRule).toMatch(/^id = "keygate-verifier-token"$/m);
    expect(verifierRule).toContain(`keywords = ["${VERIFIER_TOKEN_PREFIX}"]`);
  });

  it('each pattern finds its own kind of token and never the other', () => {
    for (let i = 0; i < 300; i++) {
      const verifier = generateVerifierToken();
      const apiKey = generateToken();
      expect(isWellFormedVerifierToken(verifier)).toBe(true);
      const text = `VERIFIER=${verifier}\nAuthorization: Bearer ${apiKey}\n`;
      expect(scan(verifierRegex, text)).toEqual([verifier]);
      expect(scan(documented, text)).toEqual([apiKey]);
    }
  });

  it('finds nothing in verifier near misses', () => {
    const body = generateVerifierToken().slice(VERIFIER_TOKEN_PREFIX.length);
    for (const text of [`keygate_verifier_${body.slice(1)}`, `keygate_verifier_${body}A`, `KEYGATE_VERIFIER_${body}`]) {
      expect(scan(verifierRegex, text), text).toEqual([]);
    }
  });
});
