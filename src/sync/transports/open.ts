import { HttpTransport } from './http.js';
import { FileTransport } from './file.js';
import type { Transport } from './transport.js';
import { isHttpUrl } from './url.js';

export { isHttpUrl };


/** The transport for a remote URL, with its token read from the named env var. */
export function openTransport(url: string, env: NodeJS.ProcessEnv, tokenEnv = 'CRSYNC_TOKEN'): Transport {
  if (isHttpUrl(url)) return new HttpTransport(url, env[tokenEnv] || undefined, { tokenEnv });
  return new FileTransport(url);
}
