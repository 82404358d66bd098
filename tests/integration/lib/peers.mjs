// Real peers for the tests: upstream services as separate processes (so they can be
// killed), Debian's dnsmasq serving A and SRV records on a loopback port, Debian's etcd
// and redis-server, JWKS servers, and a load runner that counts every request's outcome. Every process
// started here is killed when the test file's process exits, pass or fail.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, request, sleep, tempDir, waitFor } from './harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const live = new Set();
process.on('exit', () => { for (const p of live) p.kill('SIGKILL'); });

// Signals a process and waits for it to exit (an unref'd child's exit does not keep
// node running, so it is ref'd for the wait).
async function stopProcess(proc, signal = 'SIGTERM') {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.ref();
  proc.kill(signal);
  await exited;
}

function track(proc) {
  proc.unref();
  live.add(proc);
  proc.on('exit', () => live.delete(proc));
  return proc;
}

// ---- upstream service processes ----

export async function startService(name, port = 0, host = '127.0.0.1') {
  const svc = { name, port, host, proc: null, alive: false };
  svc.start = async () => {
    const proc = track(spawn(process.execPath, [path.join(here, 'upstream_server.mjs'), name, String(svc.port), host],
      { stdio: ['ignore', 'pipe', 'inherit'] }));
    proc.stdout.unref?.();
    let out = '';
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (d) => { out += d; });
    let exited = false;
    proc.on('exit', () => { exited = true; svc.alive = false; });
    await waitFor(() => exited || /listening \d+/.test(out), { timeoutMs: 10000, what: `service ${name}` });
    if (exited) throw new Error(`service ${name} failed to start on port ${svc.port}`);
    svc.port = Number(out.match(/listening (\d+)/)[1]);
    svc.address = `${host}:${svc.port}`;
    svc.url = `http://${svc.address}`;
    svc.proc = proc;
    svc.alive = true;
    return svc;
  };
  // SIGKILL: connections are reset, nothing is finished gracefully.
  svc.kill = async () => { if (svc.alive) await stopProcess(svc.proc, 'SIGKILL'); };
  svc.control = (what) => request(`${svc.url}/control/${what}`);
  svc.count = async () => JSON.parse((await request(`${svc.url}/control/count`)).body.toString()).requests;
  return svc.start();
}

export async function startServices(names) {
  return Promise.all(names.map((n) => startService(n)));
}

// ---- load ----

// Outcome counts: {ok, failed, total, statuses, byName (the upstream service that
// answered), errors (the first 20)}.
// firstAt/lastAt: performance.now() of the first and last answer (the span over which
// the server decided the requests, free of the client's start-up time).
function newStats() {
  return { ok: 0, failed: 0, total: 0, statuses: {}, byName: {}, errors: [], firstAt: null, lastAt: null };
}

async function sendOne(stats, target, opts) {
  try {
    const r = await request(target, { timeoutMs: 10000, ...opts });
    stats.lastAt = performance.now();
    stats.firstAt ??= stats.lastAt;
    stats.total++;
    stats.statuses[r.status] = (stats.statuses[r.status] ?? 0) + 1;
    if (r.status === 200) {
      stats.ok++;
      const name = JSON.parse(r.body.toString()).name;
      stats.byName[name] = (stats.byName[name] ?? 0) + 1;
    } else {
      stats.failed++;
      if (stats.errors.length < 20) stats.errors.push(`${r.status} ${r.body.toString().slice(0, 200)}`);
    }
    return r;
  } catch (e) {
    stats.total++;
    stats.failed++;
    if (stats.errors.length < 20) stats.errors.push(String(e.message));
    return null;
  }
}

// Sends requests back to back on `concurrency` keep-alive connections until stopped.
export function startLoad(url, { concurrency = 8, method = 'GET', headers = {}, body } = {}) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const stats = newStats();
  let running = true;
  const worker = async () => {
    while (running) await sendOne(stats, url, { agent, method, headers, body });
  };
  const workers = Array.from({ length: concurrency }, worker);
  return {
    stats,
    async stop() {
      running = false;
      await Promise.all(workers);
      agent.destroy();
      return stats;
    },
  };
}

// Sends exactly n requests with the given concurrency; pathFn(i) and headersFn(i) vary
// them, onResponse(i, response) sees each 200.
export async function sendMany(url, n, opts = {}) {
  const { concurrency = 16 } = opts;
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const stats = newStats();
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const target = opts.pathFn ? new URL(opts.pathFn(i), url).toString() : url;
      const headers = opts.headersFn ? opts.headersFn(i) : (opts.headers ?? {});
      const r = await sendOne(stats, target, { agent, method: opts.method ?? 'GET', headers, body: opts.body });
      if (r?.status === 200) opts.onResponse?.(i, r);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  agent.destroy();
  return stats;
}

// ---- dnsmasq ----

// Debian's dnsmasq answering on 127.0.0.1:<port> from a hosts directory (re-read on
// change through inotify) and the given SRV records; no upstream resolvers. `ttl` is
// the TTL of every answer. restart({srv}) replaces the SRV records (dnsmasq reads them
// only at start).
export async function startDnsmasq({ hosts = {}, srv = [], ttl = 1 } = {}) {
  const dir = tempDir('portico-dns-');
  fs.chmodSync(dir, 0o755);
  const hostsDir = path.join(dir, 'hosts.d');
  fs.mkdirSync(hostsDir, { mode: 0o755 });
  const dns = { dir, port: await freePort(), proc: null, srv, ttl };
  dns.setHosts = (records) => {
    // name -> [ip, ...]; written then renamed, so dnsmasq never reads half a file.
    const text = Object.entries(records).flatMap(([name, ips]) => ips.map((ip) => `${ip} ${name}`)).join('\n') + '\n';
    const tmp = path.join(dir, 'hosts.tmp');
    fs.writeFileSync(tmp, text, { mode: 0o644 });
    fs.renameSync(tmp, path.join(hostsDir, 'hosts'));
  };
  dns.setHosts(hosts);
  dns.start = async ({ srv: records = dns.srv } = {}) => {
    dns.srv = records;
    const args = ['--keep-in-foreground', '--no-resolv', '--no-hosts', '--bind-interfaces',
      '--listen-address=127.0.0.1', `--port=${dns.port}`, `--hostsdir=${hostsDir}`, `--local-ttl=${ttl}`,
      `--auth-ttl=${ttl}`, '--log-facility=-', '--user=root', `--pid-file=${path.join(dir, 'pid')}`];
    for (const r of records) args.push(`--srv-host=${r.name},${r.target},${r.port},${r.priority ?? 0},${r.weight ?? 1}`);
    const proc = track(spawn('/usr/sbin/dnsmasq', args, { stdio: ['ignore', 'ignore', 'pipe'] }));
    let err = '';
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (d) => { err += d; });
    proc.stderr.unref?.();
    let exited = false;
    proc.on('exit', () => { exited = true; });
    await waitFor(() => exited || /started, version/.test(err), { timeoutMs: 10000, what: 'dnsmasq' });
    if (exited) throw new Error(`dnsmasq failed: ${err}`);
    dns.proc = proc;
    return dns;
  };
  dns.stop = () => stopProcess(dns.proc);
  dns.restart = async (opts) => { await dns.stop(); await dns.start(opts); };
  return dns.start();
}

// ---- etcd ----

const b64 = (s) => Buffer.from(s).toString('base64');

// Debian's etcd on free loopback ports with a fresh data directory.
export async function startEtcd() {
  const dir = tempDir('portico-etcd-');
  const etcd = { dir, proc: null };
  etcd.start = async () => {
    for (let attempt = 0; attempt < 5; attempt++) {
      const client = etcd.clientPort ?? await freePort();
      const peer = etcd.peerPort ?? await freePort();
      const args = ['--name', 'test', '--data-dir', path.join(dir, 'data'),
        '--listen-client-urls', `http://127.0.0.1:${client}`, '--advertise-client-urls', `http://127.0.0.1:${client}`,
        '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
        '--initial-cluster', `test=http://127.0.0.1:${peer}`, '--log-level', 'error'];
      const proc = track(spawn('/usr/bin/etcd', args, { stdio: ['ignore', 'ignore', 'pipe'] }));
      let err = '';
      proc.stderr.setEncoding('utf8');
      proc.stderr.on('data', (d) => { err += d; });
      proc.stderr.unref?.();
      let exited = false;
      proc.on('exit', () => { exited = true; });
      etcd.url = `http://127.0.0.1:${client}`;
      const ready = async () => {
        try {
          const r = await request(`${etcd.url}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: b64('x') }), timeoutMs: 1000 });
          return r.status === 200;
        } catch { return false; }
      };
      await waitFor(async () => exited || await ready(), { timeoutMs: 20000, what: 'etcd' });
      if (exited) {
        if (/address already in use/.test(err) && etcd.clientPort === undefined) continue;
        throw new Error(`etcd failed: ${err.slice(-2000)}`);
      }
      etcd.clientPort = client;
      etcd.peerPort = peer;
      etcd.proc = proc;
      return etcd;
    }
    throw new Error('etcd: no free port');
  };
  etcd.call = async (api, body) => {
    const r = await request(`${etcd.url}/v3/${api}`, { method: 'POST', body: JSON.stringify(body) });
    if (r.status !== 200) throw new Error(`etcd ${api}: ${r.status} ${r.body}`);
    return JSON.parse(r.body.toString());
  };
  etcd.put = (key, value) => etcd.call('kv/put', { key: b64(key), value: b64(value) });
  etcd.del = (key) => etcd.call('kv/deleterange', { key: b64(key) });
  etcd.stop = () => stopProcess(etcd.proc);
  return etcd.start();
}

export { sleep };

// ---- redis ----

// Debian's redis-server on a free loopback port, nothing persisted. kill() is a
// SIGKILL; start() again comes back on the same port; pause()/resume() freeze it
// (SIGSTOP/SIGCONT: connections stay open, nothing answers). cmd(...args) runs
// redis-cli and resolves its output.
export async function startRedis() {
  const dir = tempDir('portico-redis-');
  const redis = { dir, port: undefined, proc: null };
  redis.start = async () => {
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = redis.port ?? await freePort();
      const proc = track(spawn('/usr/bin/redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '',
        '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning'], { stdio: ['ignore', 'pipe', 'pipe'] }));
      let out = '';
      for (const stream of [proc.stdout, proc.stderr]) {
        stream.setEncoding('utf8');
        stream.on('data', (d) => { out += d; });
        stream.unref?.();
      }
      let exited = false;
      proc.on('exit', () => { exited = true; });
      redis.port = port;
      redis.address = `127.0.0.1:${port}`;
      const ready = async () => {
        try { return (await redis.cmd('PING')).trim() === 'PONG'; } catch { return false; }
      };
      await waitFor(async () => exited || await ready(), { timeoutMs: 10000, what: 'redis-server' });
      if (exited) {
        if (/in use/i.test(out) && attempt < 4) { redis.port = undefined; continue; }
        throw new Error(`redis-server failed: ${out.slice(-2000)}`);
      }
      redis.proc = proc;
      return redis;
    }
    throw new Error('redis-server: no free port');
  };
  redis.cmd = (...args) => new Promise((resolve, reject) => {
    execFile('/usr/bin/redis-cli', ['-p', String(redis.port), '--raw', ...args.map(String)], { timeout: 5000 },
      (err, stdout) => (err ? reject(err) : resolve(stdout)));
  });
  redis.kill = () => stopProcess(redis.proc, 'SIGKILL');
  redis.pause = () => redis.proc.kill('SIGSTOP');
  redis.resume = () => redis.proc.kill('SIGCONT');
  return redis.start();
}

// ---- a JWKS endpoint ----

// tests/integration/lib/jwks_server.mjs as a process serving `set` (rewritten by
// jwksServer.set(newSet)); kill() and start() again on the same port.
export async function startJwksServer(set, { tls } = {}) {
  const dir = tempDir('portico-jwks-');
  const file = path.join(dir, 'jwks.json');
  const srv = { file, port: 0, proc: null };
  srv.set = (s) => {
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(s));
    fs.renameSync(`${file}.tmp`, file);
  };
  srv.set(set);
  srv.start = async () => {
    const args = [path.join(here, 'jwks_server.mjs'), file, String(srv.port), ...(tls ? [tls.cert, tls.key] : [])];
    const proc = track(spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] }));
    proc.stdout.unref?.();
    let out = '';
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (d) => { out += d; });
    let exited = false;
    proc.on('exit', () => { exited = true; });
    await waitFor(() => exited || /listening \d+/.test(out), { timeoutMs: 10000, what: 'JWKS server' });
    if (exited) throw new Error(`JWKS server failed to start on port ${srv.port}`);
    srv.port = Number(out.match(/listening (\d+)/)[1]);
    srv.url = `${tls ? 'https' : 'http'}://127.0.0.1:${srv.port}/.well-known/jwks.json`;
    srv.proc = proc;
    return srv;
  };
  srv.kill = () => stopProcess(srv.proc, 'SIGKILL');
  srv.fetches = async () => {
    if (!tls) return JSON.parse((await request(`http://127.0.0.1:${srv.port}/control/fetches`)).body.toString()).fetches;
    const { default: https } = await import('node:https');
    return new Promise((resolve, reject) => {
      https.get(`https://127.0.0.1:${srv.port}/control/fetches`, { ca: fs.readFileSync(tls.ca) }, (res) => {
        let body = '';
        res.on('data', (d) => { body += d; });
        res.on('end', () => resolve(JSON.parse(body).fetches));
      }).on('error', reject);
    });
  };
  return srv.start();
}
