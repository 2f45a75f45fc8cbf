// `node --import tsx page-storm-child.ts <base url> <loads>`: the page loads of a storm, in a process of
// their own, so the client's own work does not count in the answer times measured by the parent.
// Prints {loaded, failed, bytes} as JSON.
import { loadPage } from './page-load.ts';

const [base, loads] = process.argv.slice(2);
const results = await Promise.allSettled(Array.from({ length: Number(loads) }, () => loadPage(base as string)));
const failed = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
const bytes = results.reduce((sum, r) => sum + (r.status === 'fulfilled' ? r.value : 0), 0);
process.stdout.write(JSON.stringify({ loaded: results.length - failed.length, failed, bytes }));
