import { laterCursor } from '../../db/state/peers.js';
import { requireRemote, setPushCursor, touchRemote } from '../../db/state/remotes.js';
import { siteId, type Store } from '../../db/store.js';
import { cursorFromJson } from '../protocol/codec.js';
import type { DatasetInfo } from '../protocol/types.js';
import type { Transport } from '../transports/transport.js';

/** How long a failed push waits to learn what landed: short, as Ctrl-C must stop in a second or two. */
const ASK_MS = 1000;

/**
 * After a push that failed or was stopped with pages sent and no answer: asks the remote, briefly,
 * how far it committed our stream, and keeps that as the push cursor and the time of the last
 * push, so status (even `--offline`) counts what is unpushed from there. Best effort: when the
 * remote cannot say in time (it died, say) the replica stays as it was, and status asks itself.
 */
export async function notePartialPush(store: Store, name: string, t: Transport, pagesSent: boolean): Promise<void> {
  if (!pagesSent) return;
  let timer: NodeJS.Timeout | undefined;
  try {
    const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ASK_MS)));
    const info: DatasetInfo | null = await Promise.race([t.info(siteId(store.db)), late]);
    const received = info ? cursorFromJson(info.received) : undefined;
    if (!info || !received) return;
    const remoteSite = Buffer.from(info.siteId, 'hex');
    const db = store.db;
    db.transaction(() => {
      const remote = requireRemote(db, name);
      // Another replica than our cursors are of (re-created): its record is not ours to take.
      if (remote.remoteSite && !remote.remoteSite.equals(remoteSite)) return;
      if (laterCursor(remote.push, received) === remote.push) return;
      setPushCursor(db, name, received, remoteSite);
      touchRemote(db, name, 'push');
    })();
  } catch {
    // What landed is learnt by the next push (or status) instead.
  } finally {
    clearTimeout(timer);
  }
}
