import { HttpTransport } from './http.js';
import { FileTransport } from './file.js';
import type { RequestObserver, Transport } from './transport.js';
import { isHttpUrl } from './url.js';

export { isHttpUrl };


/**
 * The transport for a remote URL, with its token read from the named env var; `onRequest` sees
 * each HTTP request, `silenceMs` is HttpTransport's.
 */
export function openTransport(url: string, env: NodeJS.ProcessEnv, tokenEnv = 'CRSYNC_TOKEN', opts: { onRequest?: RequestObserver; silenceMs?: number } = {}): Transport {
  if (isHttpUrl(url)) return new HttpTransport(url, env[tokenEnv] || undefined, { tokenEnv, ...opts });
  return new FileTransport(url);
}
