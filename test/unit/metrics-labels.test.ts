// src/observability/metrics.ts: a request's operation name is a label only for the first MAX_OPERATIONS
// names; every later one counts as "other", and costs the process nothing per name (with METRICS_PORT
// set, each distinct name a client sent was kept for ever: about 550 bytes a name, 280 MB of heap at
// half a million names).
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
});
