import { Redis } from 'ioredis';
import { UserError } from '../util/errors.js';

// The queue every pipeline and worker uses unless --queue-name says otherwise.
export const DEFAULT_QUEUE = 'onnx-distill';

// BullMQ connection options for a redis:// (or rediss://) URL; blocking commands must never time out (BullMQ's rule).
export function connectionFor(url: string): { url: string; maxRetriesPerRequest: null } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UserError(`--queue: '${url}' is not a URL`, 'give the Redis server as redis://host:port (rediss:// for TLS)');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new UserError(`--queue: '${url}' is not a redis:// URL`, 'give the Redis server as redis://host:port (rediss:// for TLS)');
  return { url, maxRetriesPerRequest: null };
}

// Connect once, without retrying, and PING: an unreachable Redis is a clear error naming the URL, not a silent hang
// (ioredis, and so BullMQ, would otherwise keep reconnecting for ever).
export async function checkRedis(url: string, timeoutMs = 5000): Promise<void> {
  connectionFor(url);
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: timeoutMs, enableOfflineQueue: false });
  r.on('error', () => {});
  try {
    await r.connect();
    await r.ping();
  } catch (err: unknown) {
    throw new UserError(`cannot reach Redis at ${url}: ${err instanceof Error ? err.message : String(err)}`,
      'start Redis there (README: "Pipelines on several machines"), or check the host, port and firewall', { cause: err });
  } finally {
    r.disconnect();
  }
}
