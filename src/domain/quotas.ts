/** Keys one organization may hold unless KEYGATE_MAX_KEYS_PER_ORG says otherwise (0: no limit). */
export const DEFAULT_MAX_KEYS_PER_ORGANIZATION = 10_000;
