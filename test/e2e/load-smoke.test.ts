import { execa } from 'execa';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const LOAD = resolve(import.meta.dirname, '..', '..', 'bench', 'load.mjs');

interface LoadFigures {
  clients: number;
  operations: number;
  sent: number;
  received: number;
  converged: boolean;
  diverged: number;
  errors: number;
  errorSamples: unknown[];
  latencyMs: Record<'push' | 'pull' | 'health', { count: number }>;
}

describe('load smoke (bench/load.mjs, short)', () => {
  it('20 clients pushing and pulling against one hub: no errors, every replica converges with the hub', { timeout: 180_000 }, async () => {
    const r = await execa('node', [LOAD, '--clients', '20', '--seconds', '3', '--json'], { reject: false, env: { NO_COLOR: '1' } });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const f = JSON.parse(String(r.stdout)) as LoadFigures;
    expect({ converged: f.converged, diverged: f.diverged, errors: f.errors, samples: f.errorSamples }).toEqual({ converged: true, diverged: 0, errors: 0, samples: [] });
    expect(f.clients).toBe(20);
    // Work happened in both directions, and the hub answered its health checks meanwhile.
    expect(f.latencyMs.push.count + f.latencyMs.pull.count).toBe(f.operations);
    expect(f.sent).toBeGreaterThan(0);
    expect(f.received).toBeGreaterThan(0);
    expect(f.latencyMs.health.count).toBeGreaterThan(0);
  });

  it('refuses a bad client count with exit 2 and a usage line', async () => {
    const r = await execa('node', [LOAD, '--clients', 'lots'], { reject: false });
    expect(r.exitCode).toBe(2);
    expect(String(r.stderr)).toMatch(/usage: node bench\/load\.mjs/);
  });
});
