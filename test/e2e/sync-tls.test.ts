import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { crsync, crsyncJson, startHub, tempDir, type Hub } from '../helpers.js';

// A self-signed certificate for 127.0.0.1, made with the machine's openssl.
function makeCert(dir: ReturnType<typeof tempDir>): { cert: string; key: string } {
  const cert = dir.path('cert.pem');
  const key = dir.path('key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ], { stdio: 'ignore' });
  return { cert, key };
}

describe('a hub over TLS', () => {
  let tmp: ReturnType<typeof tempDir>;
  let hub: Hub | undefined;
  beforeEach(() => (tmp = tempDir()));
  afterEach(async () => {
    await hub?.stop();
    tmp.cleanup();
  });

  it('syncs over https when the certificate is trusted, and refuses it clearly when not', async () => {
    const { cert, key } = makeCert(tmp);
    hub = await startHub(tmp.path('hub'), ['--tls-cert', cert, '--tls-key', key]);
    expect(hub.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const a = tmp.path('a.db');
    await crsync(['-d', a, 'init']);
    await crsync(['-d', a, 'sql', "CREATE TABLE t (id INTEGER PRIMARY KEY NOT NULL, v TEXT); SELECT crsql_as_crr('t'); INSERT INTO t VALUES (1, 'over tls')"]);
    await crsync(['-d', a, 'remote', 'add', 'origin', `${hub.url}/secure`]);

    const untrusted = await crsyncJson<{ error: { code: string; hint: string } }>(['-d', a, 'push'], { env: { CRSYNC_RETRIES: '1' } });
    expect(untrusted.exitCode).toBe(3);
    expect(untrusted.json.error.code).toBe('tls_error');
    expect(untrusted.json.error.hint).toMatch(/NODE_EXTRA_CA_CERTS/);

    const env = { NODE_EXTRA_CA_CERTS: cert };
    const pushed = await crsyncJson<{ sent: number }>(['-d', a, 'push', '--create'], { env });
    expect(pushed.exitCode).toBe(0);
    expect(pushed.json.sent).toBe(1);
    const b = tmp.path('b.db');
    expect((await crsync(['clone', `${hub.url}/secure`, b], { env })).exitCode).toBe(0);
    const rows = await crsync(['-d', b, 'sql', 'SELECT * FROM t', '--json']);
    expect(JSON.parse(rows.stdout)).toEqual([{ id: 1, v: 'over tls' }]);
  });
});
