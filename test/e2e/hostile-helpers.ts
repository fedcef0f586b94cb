import { encode } from '@msgpack/msgpack';
import Database from 'better-sqlite3';
import { connect } from 'node:net';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { request } from 'undici';
import type * as Codec from '../../src/sync/protocol/codec.js';
import type { Change } from '../../src/sync/protocol/types.js';

// The built codec, as a client of the hub would use it.
export const codec = (await import(pathToFileURL(resolve(import.meta.dirname, '../../dist/sync/protocol/codec.js')).href)) as typeof Codec;

/** An HTTP answer of the hub: status, headers, and the body parsed as JSON when it is. */
export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: { error?: { code: string; message: string; hint?: string } } & Record<string, unknown>;
}

/** One request with undici; the answer's body must be JSON. */
export async function call(url: string, opts: { method?: string; body?: Buffer | string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const r = await request(url, { method: (opts.method ?? 'GET') as 'GET', body: opts.body, headers: opts.headers });
  const text = await r.body.text();
  let json: Answer['json'];
  try {
    json = JSON.parse(text) as Answer['json'];
  } catch {
    throw new Error(`${r.statusCode} answer is not JSON: ${text.slice(0, 200)}`);
  }
  return { status: r.statusCode, headers: r.headers, json };
}

/** A frame with any msgpack payload (also ones crsync would never send). */
export function rawFrame(payload: unknown): Buffer {
  const body = Buffer.from(encode(payload));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  return Buffer.concat([length, body]);
}

export const PK1 = Buffer.from('010901', 'hex'); // crsql_pack_columns(1)

/** A change to t(id 1).name by `site`. */
export function nameChange(site: Buffer, val: Change[3] = 'hostile', pk: Buffer = PK1): Change {
  return ['t', pk, 'name', val, 1n, 1n, site, 1n, 0n];
}

/** header + one page + end, as a client pushes them. */
export function pushBody(site: Buffer, changes: Change[], seen = 0n): Buffer {
  return Buffer.concat([
    codec.encodeHeader({ site, schemaHash: 'x', seen }),
    codec.encodePage({ changes, cursor: { version: 1n, seq: BigInt(changes.length - 1) } }),
    codec.encodeEnd({ cursor: { version: 1n, seq: BigInt(changes.length - 1) }, changes: changes.length }),
  ]);
}

/**
 * Everything of a hub dataset a refused request must leave alone: rows, clocks, cursors, merged
 * versions and conflicts (read with plain SQLite, read-only). Expects a table t.
 */
export function snapshot(file: string): Record<string, unknown[]> {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const out: Record<string, unknown[]> = {};
    for (const t of ['t', 't__crsql_clock', 'crsync_applied', 'crsync_conflicts']) {
      out[t] = db.prepare(`select * from "${t}" order by 1, 2`).all();
    }
    // Cursors, but not when a peer was last seen (a real client's pull moves that meanwhile).
    out.crsync_peers = db.prepare('select site_id, recv_version, recv_seq, seen_version from crsync_peers order by 1').all();
    return out;
  } finally {
    db.close();
  }
}

/** What a raw TCP client saw: the bytes the hub sent before it closed, and whether it closed. */
export interface RawExchange {
  status: number | undefined;
  json: Answer['json'] | undefined;
  closed: boolean;
  text: string;
}

/**
 * Talks HTTP byte by byte: writes `head`, then each of `drip` with `everyMs` between (a slow
 * client), and collects what comes back until the hub closes the connection or `giveUpMs` passes.
 * `from` is the local address to connect from.
 */
export function rawExchange(url: string, head: Buffer | string, drip: Buffer[] = [], everyMs = 0, giveUpMs = 15_000, from?: string): Promise<RawExchange> {
  const { hostname, port } = new URL(url);
  return new Promise((done) => {
    // `from`: another loopback address, which the hub counts as another client.
    const socket = connect({ port: Number(port), host: hostname, localAddress: from });
    const chunks: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    const finish = (closed: boolean): void => {
      clearTimeout(timer);
      clearTimeout(giveUp);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('utf8');
      const status = /^HTTP\/1\.1 (\d{3})/.exec(text)?.[1];
      const body = text.slice(text.indexOf('\r\n\r\n') + 4);
      let json: Answer['json'] | undefined;
      try {
        json = JSON.parse(body) as Answer['json'];
      } catch {
        json = undefined;
      }
      done({ status: status ? Number(status) : undefined, json, closed, text });
    };
    const giveUp = setTimeout(() => finish(false), giveUpMs);
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
    socket.write(head);
    let i = 0;
    const next = (): void => {
      if (i >= drip.length || socket.destroyed) return;
      socket.write(drip[i++]!);
      timer = setTimeout(next, everyMs);
    };
    timer = setTimeout(next, everyMs);
  });
}

/** The request line and headers of a push of `length` bytes (or chunked). */
export function pushHead(path: string, length?: number): string {
  const size = length === undefined ? 'transfer-encoding: chunked' : `content-length: ${length}`;
  return `POST ${path} HTTP/1.1\r\nhost: hub\r\ncontent-type: application/vnd.crsync.frames+msgpack\r\n${size}\r\n\r\n`;
}
