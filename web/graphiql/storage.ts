// What GraphiQL keeps in localStorage, minus request headers. `shouldPersistHeaders: false` keeps them
// out of the saved tabs, but GraphiQL's history still saves each run's headers, token included; this
// store drops every "headers" value before anything reaches localStorage (a token is a secret, and a
// browser profile is not a secret store).
type GraphiQLStorage = Pick<Storage, 'getItem' | 'setItem' | 'removeItem' | 'clear' | 'length'>;

/** The same JSON with every `headers` property set to null; other text as it is. */
export function withoutHeaders(value: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return value;
  }
  if (parsed === null || typeof parsed !== 'object') return value;
  return JSON.stringify(parsed, (key, inner) => (key === 'headers' ? null : inner));
}

export function headerFreeStorage(target: Storage): GraphiQLStorage {
  return {
    getItem: (key) => target.getItem(key),
    setItem(key, value) {
      // A store of raw headers (the headers editor's own key): never written.
      if (key.endsWith(':headers')) return;
      target.setItem(key, withoutHeaders(value));
    },
    removeItem: (key) => target.removeItem(key),
    clear: () => target.clear(),
    get length() {
      return target.length;
    },
  };
}
