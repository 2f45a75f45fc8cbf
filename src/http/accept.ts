// Whether a request asks for the GraphiQL page, read from its Accept header as HTTP defines it (RFC 9110,
// 12.5.1): media types are case-insensitive, each range may carry parameters and a q-value, q=0 means
// "not acceptable", and a type takes the q of the most specific range that matches it. A substring
// search for "text/html" gave the page to "text/html;q=0, application/json" and to "text/htmlx", and
// not to "TEXT/HTML". The page is for a client that names text/html itself (*/*, which curl and most
// HTTP libraries send, and text/* name no page) and wants it at least as much as the JSON the API
// answers. The GraphiQL site and authentication (which lets the page through without a token) both ask
// this one function, so they cannot disagree.

const HTML = /html/i;
/** RFC 9110's qvalue: 0 to 1 with up to three decimals. */
const Q_VALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

/** The q-value a range's parameters give it: 1 when none does, -1 when it cannot be read. */
function qualityOf(parameters: string[]): number {
  for (const parameter of parameters) {
    const equals = parameter.indexOf('=');
    if (equals < 0 || parameter.slice(0, equals).trim().toLowerCase() !== 'q') continue;
    const value = parameter.slice(equals + 1).trim();
    return Q_VALUE.test(value) ? Number(value) : -1;
  }
  return 1;
}

/**
 * Whether a client that sent this Accept header gets HTML: it names text/html with a q-value above 0,
 * and no JSON type the API answers (application/json, application/graphql-response+json) gets a higher one.
 */
export function prefersHtml(accept: string | null | undefined): boolean {
  // Nearly every API request names no HTML: one case-insensitive search, nothing parsed.
  if (!accept || !HTML.test(accept)) return false;
  // The best q each range gives (-1: no such range).
  let html = -1;
  let json = -1;
  let graphqlJson = -1;
  let application = -1;
  let any = -1;
  for (const range of accept.split(',')) {
    const [type = '', ...parameters] = range.split(';');
    const q = qualityOf(parameters);
    if (q < 0) continue;
    switch (type.trim().toLowerCase()) {
      case 'text/html':
        html = Math.max(html, q);
        break;
      case 'application/json':
        json = Math.max(json, q);
        break;
      case 'application/graphql-response+json':
        graphqlJson = Math.max(graphqlJson, q);
        break;
      case 'application/*':
        application = Math.max(application, q);
        break;
      case '*/*':
        any = Math.max(any, q);
        break;
    }
  }
  if (html <= 0) return false;
  // Each JSON type takes the q of its most specific range.
  const fallback = application >= 0 ? application : any;
  const jsonQ = Math.max(json >= 0 ? json : fallback, graphqlJson >= 0 ? graphqlJson : fallback);
  return html >= jsonQ;
}

/** Whether a request asks for the GraphiQL page: a GET, or a HEAD (what the GET would get), preferring HTML. */
export const asksForPage = (method: string | undefined, accept: string | null | undefined): boolean =>
  (method === 'GET' || method === 'HEAD') && prefersHtml(accept);
