import pino from 'pino';

export type Logger = pino.Logger;

/** Authorization headers and tokens are never logged, whatever the level. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      redact: {
        paths: ['req.headers.authorization', 'headers.authorization', 'authorization', 'token', '*.token'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
