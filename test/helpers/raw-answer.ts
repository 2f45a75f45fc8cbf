// An HTTP/1.1 answer read off a raw socket (tests that send bytes no HTTP client would).

export interface RawAnswer {
  status: number;
  /** Lower-cased names; the last of a repeated header. */
  headers: Record<string, string>;
  body: string;
}

/** The status, headers and body of the first answer in `text` (what a socket received). */
export function parseRawAnswer(text: string): RawAnswer {
  const [head = '', body = ''] = text.split('\r\n\r\n', 2);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body };
}
