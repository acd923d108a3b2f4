// Redis with a password and an ACL user (issue 22): the URL's password is never printed (start lines, errors), a
// refused or missing password is said as such, an ACL user passes through to ioredis, and a worker refuses to start
// without the flags that bound what it runs.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { maskUrl } from '../../src/jobs/redis.js';
import { BIN, cli, cliAsync, collect, ENV, freePort } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'od-redis-auth-'));
const PASS = 'pw-Very-Secret-123';
const ACL = 'acl-Secret-456';
const secret = join(root, 'secret');
let redis: ChildProcess | undefined;
let port = 0;
const at = () => `127.0.0.1:${port}`;

before(async () => {
  port = await freePort();
  writeFileSync(secret, 'a-test-secret-of-32-characters!!\n');
  redis = spawn(
    '/usr/bin/redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      root,
      '--requirepass',
      PASS,
      '--user',
      'onnx',
      'on',
      `>${ACL}`,
      '~bull:*',
      '&*',
      '+@all',
    ],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 100 && cli(['pipeline', 'status', '--queue', `redis://:${PASS}@${at()}`]).status !== 0; i++)
    await new Promise((r) => setTimeout(r, 100));
});
after(() => {
  redis?.kill('SIGTERM');
  rmSync(root, { recursive: true, force: true });
});

test('maskUrl hides the password and nothing else', () => {
  assert.equal(maskUrl('redis://:p%40ss@host:6379/2'), 'redis://:***@host:6379/2');
  assert.equal(maskUrl('rediss://user:pass@host:6380'), 'rediss://user:***@host:6380');
  assert.equal(maskUrl('redis://host:6379'), 'redis://host:6379');
});

test('a wrong password, a missing one, and a wrong ACL password: exit 2, said as such, never printed', () => {
  const cases: [string, RegExp][] = [
    [
      `redis://:wrong-${PASS}@${at()}`,
      /Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ refused the password for user 'default'/,
    ],
    [
      `redis://onnx:not-${ACL}@${at()}`,
      /Redis at redis:\/\/onnx:\*\*\*@127\.0\.0\.1:\d+ refused the password for user 'onnx'/,
    ],
    [`redis://${at()}`, /needs a password .* and the URL gives none/],
  ];
  for (const [url, message] of cases) {
    for (const args of [
      ['pipeline', 'status', '--queue', url],
      ['worker', '--queue', url, '--root', root, '--secret-file', secret],
    ]) {
      const r = cli(args);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr + r.stdout, /Very-Secret|Secret-456|Connection is closed/);
    }
  }
});

test('the right password or ACL user: status works and the start lines mask the password', async () => {
  for (const url of [`redis://:${PASS}@${at()}`, `redis://onnx:${ACL}@${at()}`]) {
    const s = cli(['pipeline', 'status', '--queue', url]);
    assert.equal(s.status, 0, s.stderr);
    assert.match(s.stdout, /at redis:\/\/(onnx)?:\*\*\*@127\.0\.0\.1/);
    const child = cliAsync(['worker', '--queue', url, '--root', root, '--secret-file', secret]);
    const w = collect(child);
    const t = Date.now();
    while (!/^worker /m.test(w.err()) && Date.now() - t < 60_000) await new Promise((r) => setTimeout(r, 50));
    assert.match(w.err(), /on queue 'onnx-distill' at redis:\/\/(onnx)?:\*\*\*@127\.0\.0\.1:\d+: /);
    assert.doesNotMatch(w.err() + s.stdout + s.stderr, /Very-Secret|Secret-456/);
    child.kill('SIGTERM');
    assert.equal(await w.exit, 0, w.err());
  }
});

test('a worker needs --root and --secret-file; pipeline run --queue needs --secret-file; a short secret is refused', () => {
  const url = `redis://:${PASS}@${at()}`;
  assert.match(cli(['worker', '--queue', url, '--secret-file', secret]).stderr, /Missing required argument: root/);
  assert.match(cli(['worker', '--queue', url, '--root', root]).stderr, /Missing required argument: secret-file/);
  writeFileSync(join(root, 'p.yaml'), 'jobs: [{ epochs: 1 }]\n');
  const p = cli(['pipeline', 'run', join(root, 'p.yaml'), '--out', join(root, 'o'), '--queue', url]);
  assert.equal(p.status, 2);
  assert.match(p.stderr, /give --secret-file/);
  writeFileSync(join(root, 'short'), 'abc\n');
  const s = cli(['worker', '--queue', url, '--root', root, '--secret-file', join(root, 'short')]);
  assert.equal(s.status, 2);
  assert.match(s.stderr, /the secret has 3 characters; give at least 16/);
});

test('rediss:// (TLS) passes through to ioredis: trusted through NODE_EXTRA_CA_CERTS, an untrusted certificate said as such', async () => {
  const ssl = (args: string[]) => spawnSync('/usr/bin/openssl', args, { cwd: root, stdio: 'ignore' }).status;
  assert.equal(
    ssl([
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '2',
      '-subj',
      '/CN=test-ca',
    ]),
    0,
  );
  assert.equal(
    ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'srv.key', '-out', 'srv.csr', '-subj', '/CN=127.0.0.1']),
    0,
  );
  writeFileSync(join(root, 'ext'), 'subjectAltName=IP:127.0.0.1\n');
  assert.equal(
    ssl([
      'x509',
      '-req',
      '-in',
      'srv.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'srv.pem',
      '-days',
      '2',
      '-extfile',
      'ext',
    ]),
    0,
  );
  const tlsPort = await freePort();
  const server = spawn(
    '/usr/bin/redis-server',
    [
      '--port',
      '0',
      '--tls-port',
      String(tlsPort),
      '--bind',
      '127.0.0.1',
      '--tls-cert-file',
      join(root, 'srv.pem'),
      '--tls-key-file',
      join(root, 'srv.key'),
      '--tls-ca-cert-file',
      join(root, 'ca.pem'),
      '--tls-auth-clients',
      'no',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      root,
      '--requirepass',
      PASS,
    ],
    { stdio: 'ignore' },
  );
  try {
    const url = `rediss://:${PASS}@127.0.0.1:${tlsPort}`;
    const status = (env: NodeJS.ProcessEnv) =>
      spawnSync(process.execPath, [BIN, 'pipeline', 'status', '--queue', url], { encoding: 'utf8', env });
    let ok = status({ ...ENV, NODE_EXTRA_CA_CERTS: join(root, 'ca.pem') });
    for (let i = 0; i < 50 && ok.status !== 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      ok = status({ ...ENV, NODE_EXTRA_CA_CERTS: join(root, 'ca.pem') });
    }
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /at rediss:\/\/:\*\*\*@127\.0\.0\.1:\d+: 0 job\(s\)/);
    const untrusted = status(ENV);
    assert.equal(untrusted.status, 2);
    assert.match(
      untrusted.stderr,
      /its TLS certificate is not trusted .*hint: give the CA that signed it: NODE_EXTRA_CA_CERTS/s,
    );
    assert.doesNotMatch(untrusted.stderr + ok.stdout, /Very-Secret/);
  } finally {
    server.kill('SIGTERM');
  }
});
