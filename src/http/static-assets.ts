// Files served from memory: each is read (or made) once, with its brotli and gzip forms, and every
// request is answered with one of those buffers. Nothing is rendered, read or compressed per request,
// so anonymous page traffic costs no more memory than a few socket buffers (src/http/graphiql.ts).
// Served before Yoga on node:http, these answers carry themselves the headers every answer carries, and
// their errors have the shape of their path (src/http/responses.ts).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { API_HEADERS, type ApiErrorCode, errorBodyFor, JSON_CONTENT_TYPE, SECURITY_HEADERS } from './responses.ts';

export interface StaticFile {
  contentType: string;
  cacheControl: string;
  /** Strong validator of the content; each encoding gets its own (a cache keys on both). */
  etag: string;
  identity: Buffer;
  br?: Buffer | undefined;
  gzip?: Buffer | undefined;
  /** Extra response headers (security headers of the page). */
  headers?: Record<string, string>;
}

/** A complete answer, for node:http (src/http/server.ts) and for fetch (the Yoga plugin) alike. */
export interface StaticAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer | null;
}

export const IMMUTABLE = 'public, max-age=31536000, immutable';

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.ttf': 'font/ttf',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.graphql': 'text/plain; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
};

export const contentTypeOf = (name: string) => CONTENT_TYPES[extname(name)] ?? 'application/octet-stream';

const digest = (content: Buffer) => createHash('sha256').update(content).digest('base64url').slice(0, 16);

/** A file made in memory; compressed now, once, when that pays. */
export function memoryFile(
  content: string | Buffer,
  contentType: string,
  cacheControl: string,
  headers?: Record<string, string>,
): StaticFile {
  const identity = typeof content === 'string' ? Buffer.from(content) : content;
  const compress = identity.length > 1024;
  return {
    contentType,
    cacheControl,
    etag: digest(identity),
    identity,
    br: compress ? brotliCompressSync(identity, { params: { [constants.BROTLI_PARAM_QUALITY]: 10 } }) : undefined,
    gzip: compress ? gzipSync(identity, { level: 9 }) : undefined,
    ...(headers ? { headers } : {}),
  };
}

/** A built file with its precompressed `.br` and `.gz` neighbours (scripts/build-graphiql.ts writes them). */
export function builtFile(path: string, cacheControl: string): StaticFile {
  const identity = readFileSync(path);
  const neighbour = (suffix: string) => (existsSync(path + suffix) ? readFileSync(path + suffix) : undefined);
  return {
    contentType: contentTypeOf(path),
    cacheControl,
    etag: digest(identity),
    identity,
    br: neighbour('.br'),
    gzip: neighbour('.gz'),
  };
}

/** q=0 refuses an encoding; anything else listed accepts it (weights beyond that do not matter here). */
function accepts(acceptEncoding: string, encoding: string): boolean {
  for (const part of acceptEncoding.toLowerCase().split(',')) {
    const [name, ...params] = part.trim().split(';');
    if (name?.trim() !== encoding) continue;
    return !params.some((param) => /^\s*q\s*=\s*0(\.0*)?\s*$/.test(param));
  }
  return false;
}

function matches(ifNoneMatch: string | null | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.split(',').some((tag) => {
    const value = tag.trim().replace(/^W\//, '');
    return value === '*' || value === etag;
  });
}

export function answerWith(
  file: StaticFile,
  method: string,
  acceptEncoding: string | null | undefined,
  ifNoneMatch: string | null | undefined,
): StaticAnswer {
  const encoding =
    file.br && accepts(acceptEncoding ?? '', 'br')
      ? 'br'
      : file.gzip && accepts(acceptEncoding ?? '', 'gzip')
        ? 'gzip'
        : 'identity';
  const body = encoding === 'br' ? file.br : encoding === 'gzip' ? file.gzip : file.identity;
  const etag = `"${file.etag}${encoding === 'identity' ? '' : `-${encoding}`}"`;
  const headers: Record<string, string> = {
    'content-type': file.contentType,
    'cache-control': file.cacheControl,
    etag,
    ...SECURITY_HEADERS,
    ...(file.br || file.gzip ? { vary: 'Accept-Encoding' } : {}),
    ...file.headers,
  };
  if (matches(ifNoneMatch, etag)) return { status: 304, headers, body: null };
  if (encoding !== 'identity') headers['content-encoding'] = encoding;
  headers['content-length'] = String((body as Buffer).length);
  return { status: 200, headers, body: method === 'HEAD' ? null : (body as Buffer) };
}

/**
 * A JSON error for a page or file that cannot be served, in the shape of its path (the GraphiQL page is
 * at /graphql: a GraphQL response; its files and the console: `{"error": {"code", "message"}}`).
 */
export function staticErrorAnswer(
  pathname: string,
  status: number,
  message: string,
  code: ApiErrorCode,
  extra: Record<string, string> = {},
): StaticAnswer {
  const body = Buffer.from(errorBodyFor(pathname, code, message));
  return {
    status,
    headers: {
      'content-type': JSON_CONTENT_TYPE,
      'content-length': String(body.length),
      ...API_HEADERS,
      ...extra,
    },
    body,
  };
}
