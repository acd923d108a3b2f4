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
    throw new UserError(
      `--queue: '${maskUrl(url)}' is not a URL`,
      'give the Redis server as redis://host:port (rediss:// for TLS)',
    );
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw new UserError(
      `--queue: '${maskUrl(url)}' is not a redis:// URL`,
      'give the Redis server as redis://host:port (rediss:// for TLS)',
    );
  return { url, maxRetriesPerRequest: null };
}

// A Redis URL as it may be printed: the password (and nothing else) replaced by ***, in every line, log and report.
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (!u.password) return url;
    u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
  }
}

// Any text with the Redis URLs in it masked (error messages of ioredis or BullMQ may quote the URL).
export function maskUrls(text: string): string {
  return text.replace(/rediss?:\/\/[^\s'"]+/g, (u) => maskUrl(u));
}

// The user a URL logs in as, for messages: `default` when it names none.
const userOf = (url: string) => decodeURIComponent(new URL(url).username) || 'default';

// Connect once, without retrying, and PING: an unreachable Redis is a clear error naming the URL, not a silent hang
// (ioredis, and so BullMQ, would otherwise keep reconnecting for ever).
export async function checkRedis(url: string, timeoutMs = 5000): Promise<void> {
  connectionFor(url);
  const r = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
    enableOfflineQueue: false,
  });
  // The reason the connection closed (a refused password, say) comes as an 'error' event; connect() only says closed.
  let reason: Error | undefined;
  r.on('error', (e: Error) => {
    reason ??= e;
  });
  try {
    await r.connect();
    await r.ping();
    // BullMQ reads INFO (the server version) on every connection: an ACL user without it could not use the queue.
    await r.info('server');
  } catch (err: unknown) {
    const why = `${reason?.message ?? ''} ${err instanceof Error ? err.message : String(err)}`;
    if (/WRONGPASS/.test(why))
      throw new UserError(
        `Redis at ${maskUrl(url)} refused the password for user '${userOf(url)}'`,
        'check the password in the URL (redis://user:password@host:port); README: "Pipelines on several machines"',
      );
    if (/NOAUTH/.test(why))
      throw new UserError(
        `Redis at ${maskUrl(url)} needs a password (it has requirepass or ACL users) and the URL gives none`,
        'give it in the URL: redis://:password@host:port or redis://user:password@host:port',
      );
    if (/NOPERM/.test(why))
      throw new UserError(
        `Redis at ${maskUrl(url)} denies user '${userOf(url)}' a command the queue needs: ${maskUrls(reason?.message ?? '')}`,
        'the ACL user needs the keys ~bull:* and the commands BullMQ uses (README: "Pipelines on several machines")',
      );
    if (/certificate|CERT_/i.test(why))
      throw new UserError(
        `Redis at ${maskUrl(url)}: its TLS certificate is not trusted (${maskUrls(reason?.message ?? why.trim())})`,
        'give the CA that signed it: NODE_EXTRA_CA_CERTS=/path/to/ca.pem onnx-distill …',
      );
    throw new UserError(
      `cannot reach Redis at ${maskUrl(url)}: ${maskUrls(reason?.message ?? (err instanceof Error ? err.message : String(err)))}`,
      'start Redis there (README: "Pipelines on several machines"), or check the host, port and firewall',
      { cause: err },
    );
  } finally {
    r.disconnect();
  }
}

// A log for connection errors: a lasting fault (Redis down) repeats its error on every retry, so each distinct line
// is written once a minute at most, with the URLs in it masked.
export function throttledLog(log: (line: string) => void): (line: string) => void {
  const said = new Map<string, number>();
  return (line) => {
    const masked = maskUrls(line);
    if (Date.now() - (said.get(masked) ?? 0) < 60_000) return;
    said.set(masked, Date.now());
    log(masked);
  };
}
