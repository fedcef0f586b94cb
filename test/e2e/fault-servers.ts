import { createServer as createHttpServer, request } from 'node:http';
import { createServer, connect, type Server, type Socket } from 'node:net';

/** A plain TCP server on a loopback port: what a test puts where a hub should be. */
export interface FaultServer {
  url: string;
  /** Connections accepted so far. */
  readonly connections: number;
  close(): Promise<void>;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

function closer(server: Server, sockets: Set<Socket>): () => Promise<void> {
  return () => {
    for (const s of sockets) s.destroy();
    return new Promise((resolve) => server.close(() => resolve()));
  };
}

/** Accepts every connection and never sends a byte (a hung hub, a black-holing middlebox). */
export async function silentServer(path = '/shop'): Promise<FaultServer> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer((s) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.resume(); // read what the client sends, answer nothing
  });
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}${path}`, get connections() { return connections; }, close: closer(server, sockets) };
}

/** A TCP proxy to `target` that can go silent: it keeps every connection and forwards nothing, either way. */
export interface SilenceableProxy extends FaultServer {
  /** While true, bytes are swallowed on open connections and new ones are accepted and left unanswered. */
  silent: boolean;
}

export async function tcpProxy(target: string, path = '/shop'): Promise<SilenceableProxy> {
  const t = new URL(target);
  const sockets = new Set<Socket>();
  let connections = 0;
  const proxy: { silent: boolean } = { silent: false };
  const server = createServer((client) => {
    connections++;
    const upstream = connect(Number(t.port), t.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('data', (d: Buffer) => proxy.silent || upstream.write(d));
    upstream.on('data', (d: Buffer) => proxy.silent || client.write(d));
  });
  const port = await listen(server);
  // Getters stay getters only when defined on the object itself (Object.assign would copy values).
  return Object.defineProperties(proxy, {
    url: { value: `http://127.0.0.1:${port}${path}` },
    connections: { get: () => connections },
    close: { value: closer(server, sockets) },
  }) as SilenceableProxy;
}

/** An HTTP proxy to `target` that can answer every request 500 instead. */
export interface FailingProxy extends FaultServer {
  failing: boolean;
  /** Requests answered 500 so far, with the time each came (performance.now()). */
  readonly failed: number[];
  /** Requests passed to the hub so far. */
  readonly passed: number;
}

export async function failingProxy(target: string, path = '/shop'): Promise<FailingProxy> {
  const t = new URL(target);
  const failed: number[] = [];
  let passed = 0;
  let connections = 0;
  const sockets = new Set<Socket>();
  const proxy: { failing: boolean } = { failing: false };
  const server = createHttpServer((req, res) => {
    if (proxy.failing) {
      failed.push(performance.now());
      req.resume();
      res.writeHead(500, { 'content-type': 'text/plain' }).end('internal server error');
      return;
    }
    passed++;
    const up = request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    res.on('close', () => up.destroy());
    req.pipe(up);
  });
  server.on('connection', (s) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const port = await listen(server);
  return Object.defineProperties(proxy, {
    url: { value: `http://127.0.0.1:${port}${path}` },
    connections: { get: () => connections },
    failed: { value: failed },
    passed: { get: () => passed },
    close: { value: closer(server, sockets) },
  }) as FailingProxy;
}
