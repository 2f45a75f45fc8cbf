// Small pieces shared by the console's views.
import { useEffect, useState } from 'react';
import type { Problem } from './errors.ts';

export function ProblemMessage({ problem, onRetry }: { problem: Problem; onRetry?: (() => void) | undefined }) {
  return (
    <div className="problem" role="alert">
      <p>{problem.sentence}</p>
      {problem.retry && onRetry && (
        <button type="button" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

/** A token shown once, right after create or rotate: copy it now, it is never shown again. */
export function TokenReveal({ token, children }: { token: string; children?: React.ReactNode }) {
  const [copied, setCopied] = useState<'yes' | 'failed' | null>(null);
  // Leaving or reloading the page while the token is shown asks first: it cannot be shown again.
  useEffect(() => {
    const warn = (event: BeforeUnloadEvent) => event.preventDefault();
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, []);
  const copy = () =>
    navigator.clipboard.writeText(token).then(
      () => setCopied('yes'),
      () => setCopied('failed'),
    );
  return (
    <section className="token-reveal" aria-label="New token">
      <p className="warning" role="alert">
        Copy this token now. It is shown only once: Keygate keeps only its hash, and leaving or reloading this page
        loses it.
      </p>
      <code data-testid="new-token">{token}</code>
      <button type="button" onClick={copy}>
        Copy token
      </button>
      {copied === 'yes' && <span role="status"> Copied.</span>}
      {copied === 'failed' && <span role="status"> The browser refused to copy; select the token and copy it.</span>}
      {children}
    </section>
  );
}

export const when = (value: string | null | undefined, none = '—') => (value ? new Date(value).toLocaleString() : none);
