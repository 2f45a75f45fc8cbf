// The gate of every field only managers may use (docs/rules.md, Managers), judged from the caller
// alone: scope-auth (src/schema/builder.ts) calls it before the field's operation runs. The operation
// itself parses its arguments and judges every rule about its target, once (inside its transaction,
// for a change).
import { forbidden } from './errors.ts';
import type { Caller } from './types.ts';

export function requireManager(caller: Caller): void {
  if (!caller.access.isManager) {
    throw forbidden(
      'This API key cannot manage API keys: it needs the api_keys_manage role, at account level or as a team role.',
    );
  }
}

/**
 * A manager passes at once, without its arguments being read (the operation parses them, once). Any
 * other caller is refused with `refuse`'s FORBIDDEN, but only after `checkInput` has checked its
 * arguments: a bad input answers before a refusal (docs/rules.md: authentication, input, visibility,
 * permission). `checkInput` may read the database (the teams of a grant): a promise then.
 */
export function managerGate(
  caller: Caller,
  checkInput: () => unknown,
  refuse: (caller: Caller) => void = requireManager,
): true | Promise<true> {
  if (caller.access.isManager) return true;
  const checked = checkInput();
  if (checked instanceof Promise) {
    return checked.then(() => {
      refuse(caller);
      return true as const;
    });
  }
  refuse(caller);
  return true;
}
