// Noticing commits to the embedded database cheaply. The server asks `PRAGMA data_version` before it
// trusts what it keeps: before a cached token is used (another process, the CLI, may have deleted its
// key: src/auth/verifier.ts, externalChanges) and before a kept read is served (src/db/data-stamp.ts).
// In WAL mode that pragma opens and closes a read transaction, whose shared-memory locks are system
// calls: 9% of a `POST /v1/verify`'s server CPU in its profile.
//
// Every commit, by any connection of any process, writes the header of the WAL index: the first bytes
// of the `-shm` file beside the database, two copies of 48 bytes, holding the WAL's last frame, its
// checksum and salts (SQLite's WAL-index header). While those 96 bytes are unchanged nothing was
// committed, so a reading of data_version taken after them still holds; reading them is one pread,
// which leaves a verification 3-4% cheaper in all (alternating runs of the two builds). A reading
// whose bytes differ (a commit, a checkpoint restarting the WAL, a header read while a writer writes
// it) asks SQLite again. The bytes after the headers (the readers' marks) change on every read, and
// are not read.
import { closeSync, openSync, readSync } from 'node:fs';

const HEADERS_BYTES = 96;

export interface WalIndex {
  /**
   * `read` (a reading of PRAGMA data_version) gated on the WAL index: asked only when something may
   * have been committed since it was last asked. Each gated reading keeps its own last value.
   */
  gate(read: () => number): () => number;
  close(): void;
}

/** The WAL index of an open database in WAL mode (`file` is its path); ungated if it has none. */
export function openWalIndex(file: string): WalIndex {
  let fd: number | null;
  try {
    fd = openSync(`${file}-shm`, 'r');
  } catch {
    fd = null;
  }
  const headersNow = Buffer.alloc(HEADERS_BYTES);
  /** The headers now, or false when they cannot be read whole (then every reading asks SQLite). */
  const readHeaders = (): boolean => {
    if (fd === null) return false;
    try {
      return readSync(fd, headersNow, 0, HEADERS_BYTES, 0) === HEADERS_BYTES;
    } catch {
      return false;
    }
  };
  return {
    gate(read) {
      const seen = Buffer.alloc(HEADERS_BYTES);
      let known = false;
      let value = 0;
      return () => {
        // The headers are read before SQLite is asked: a commit between the two shows in the next
        // headers, so the reading is asked again then.
        if (!readHeaders()) {
          known = false;
          return read();
        }
        if (known && headersNow.equals(seen)) return value;
        headersNow.copy(seen);
        value = read();
        known = true;
        return value;
      };
    },
    close() {
      if (fd !== null) closeSync(fd);
      fd = null;
    },
  };
}
