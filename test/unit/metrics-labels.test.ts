// src/observability/metrics.ts: a request's operation name is a label only for the first MAX_OPERATIONS
// names; every later one counts as "other", and costs the process nothing per name (with METRICS_PORT
// set, each distinct name a client sent was kept for ever: about 550 bytes a name, 280 MB of heap at
// half a million names). A name longer than 64 characters is "other" from the first, and takes no place.
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/observability/metrics.ts';
import { signals } from '../../src/observability/signals.ts';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

describe('request metrics by operation name', () => {
  const registry = createMetrics();
  afterAll(() => registry.clear());

  it('counts names past the first hundred as "other", and keeps nothing per name', async () => {
    for (let i = 0; i < 100; i++) signals.request(`named${i}`, 'ok', 0.001);
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 100_000; i++) signals.request(`made up ${i}`, 'ok', 0.001);
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    expect(grown).toBeLessThan(10 * 1024 * 1024);

    const text = await registry.metrics();
    const counts = text.split('\n').filter((line) => line.startsWith('keygate_http_request_duration_seconds_count'));
    expect(counts).toHaveLength(101);
    expect(counts).toContain('keygate_http_request_duration_seconds_count{operation="other",outcome="ok"} 100000');
  });

  it('counts a name longer than 64 characters as "other" without giving it a place: a scrape stays small', async () => {
    const own = createMetrics();
    try {
      const before = (await own.metrics()).length;
      for (let i = 0; i < 12; i++) signals.request(`Q${String(i).padStart(2, '0')}${'a'.repeat(90_000)}`, 'ok', 0.001);
      signals.request(`Q${'a'.repeat(64)}`, 'FORBIDDEN', 0.001);
      signals.request('Dashboard', 'ok', 0.001);
      const text = await own.metrics();
      expect(text.length - before).toBeLessThan(10_000);
      const counts = text.split('\n').filter((line) => line.startsWith('keygate_http_request_duration_seconds_count'));
      expect(counts).toEqual([
        'keygate_http_request_duration_seconds_count{operation="other",outcome="ok"} 12',
        'keygate_http_request_duration_seconds_count{operation="other",outcome="FORBIDDEN"} 1',
        'keygate_http_request_duration_seconds_count{operation="Dashboard",outcome="ok"} 1',
      ]);
      // 64 characters is still a name.
      signals.request('N'.repeat(64), 'ok', 0.001);
      expect(await own.metrics()).toContain(`operation="${'N'.repeat(64)}"`);
    } finally {
      own.clear();
    }
  });
});
