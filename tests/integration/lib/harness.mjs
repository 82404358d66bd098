// Test harness: starts the real portico binary and real peers (Debian nginx, small
// programmable Node HTTP servers), and speaks raw HTTP when a test needs exact bytes.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';

export const PORTICO_BIN = process.env.PORTICO_BIN ||
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../build/release/src/cli/portico');
export const SANITIZED = process.env.PORTICO_SANITIZED === '1' || process.env.PORTICO_SANITIZED === 'true';

export function tempDir(prefix = 'portico-test-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Waits until fn() returns a truthy value (polling), or fails after timeoutMs.
export async function waitFor(fn, { timeoutMs = 10000, intervalMs = 25, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(intervalMs);
  }
}

const live = new Set();
process.on('exit', () => { for (const c of live) c.kill('SIGKILL'); });

// A running portico process. `yaml` is the config text; listen/admin should use port 0.
export class Portico {
  // maxFiles: start under `ulimit -n maxFiles` (descriptor exhaustion tests).
  static async start(yaml, { args = [], dir = tempDir(), file = 'portico.yaml', env = {}, expectFailure = false, maxFiles = 0 } = {}) {
    const p = new Portico(dir, path.join(dir, file));
    fs.writeFileSync(p.configPath, yaml);
    const argv = ['run', '-c', p.configPath, ...args];
    const [cmd, cmdArgs] = maxFiles
      ? ['/bin/sh', ['-c', `ulimit -n ${maxFiles} && exec "$0" "$@"`, PORTICO_BIN, ...argv]]
      : [PORTICO_BIN, argv];
    p.proc = spawn(cmd, cmdArgs, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0', ...env },
    });
    // A failing test must not hang the run: children do not keep node alive, and any
    // still running when the test file exits are killed.
    p.proc.unref();
    p.proc.stdout.unref?.();
    p.proc.stderr.unref?.();
    live.add(p.proc);
    p.proc.on('exit', () => live.delete(p.proc));
    p.proc.stdout.setEncoding('utf8');
    p.proc.stderr.setEncoding('utf8');
    p.proc.stdout.on('data', (d) => { p.stdout += d; });
    p.proc.stderr.on('data', (d) => { p.stderr += d; });
    p.proc.on('exit', (code, signal) => { p.exitCode = code; p.exitSignal = signal; });
    // 'close' comes after 'exit' once stdout and stderr are drained: only then is all of
    // the log (and any sanitizer report) in p.stderr.
    p.exited = new Promise((resolve) => p.proc.on('close', () => resolve(p.exitCode)));
    if (expectFailure) {
      // Poll (timers keep node alive; the child process is unref'd).
      await waitFor(() => p.exitCode !== null, { timeoutMs: 15000, what: 'portico to exit' });
      await p.exited;
      return p;
    }
    await waitFor(() => p.exitCode !== null || /portico started/.test(p.stderr), { timeoutMs: 15000, what: 'portico to start' });
    if (p.exitCode !== null) throw new Error(`portico exited with ${p.exitCode}:\n${p.stderr}`);
    const listen = [...p.stderr.matchAll(/ listening on http:\/\/(\S+)/g)].map((m) => m[1]);
    const admin = p.stderr.match(/admin listening on http:\/\/(\S+)/);
    p.addresses = listen.filter((a) => !admin || a !== admin[1]);
    p.address = p.addresses[0];
    p.port = Number(p.address.split(':').pop());
    p.url = `http://${p.address}`;
    if (admin) {
      p.adminAddress = admin[1];
      p.adminUrl = `http://${admin[1]}`;
    }
    return p;
  }

  constructor(dir, configPath) {
    this.dir = dir;
    this.configPath = configPath;
    this.stdout = '';
    this.stderr = '';
    this.exitCode = null;
  }

  writeConfig(yaml) {
    // Write then rename, as editors do, so a reader never sees half a file.
    const tmp = `${this.configPath}.tmp`;
    fs.writeFileSync(tmp, yaml);
    fs.renameSync(tmp, this.configPath);
  }

  // Log lines and HTTP answers come over different pipes: a line Portico wrote before
  // answering may reach the test after the answer. Wait for it instead of asserting.
  async waitForLog(pattern, { timeoutMs = 5000 } = {}) {
    await waitFor(() => pattern.test(this.stderr), { timeoutMs, what: `log line ${pattern}` });
  }

  signal(sig) {
    if (sig === 'SIGTERM' || sig === 'SIGINT') this.stopping = true;
    this.proc.kill(sig);
  }

  // Stops with SIGTERM and checks the process exited cleanly with no sanitizer report.
  async stop({ signal = 'SIGTERM', timeoutMs = 40000 } = {}) {
    let timer;
    if (this.exitCode === null) {
      if (!this.stopping) this.proc.kill(signal);
      timer = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs);
    }
    await this.exited;  // all of stderr is in, even if the process had exited already
    clearTimeout(timer);
    this.assertNoSanitizerReports();
    return this.exitCode;
  }

  assertNoSanitizerReports() {
    const text = this.stderr;
    assert.ok(!/ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:/.test(text),
      `sanitizer report in portico stderr:\n${text.slice(-6000)}`);
  }

  async metrics() {
    const r = await request(`${this.adminUrl}/metrics`);
    return r.body.toString();
  }
}

// Reads one metric sample value from Prometheus text; labels is a substring filter.
export function metric(text, name, labels = '') {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = line.match(/^([a-z_]+)(\{[^}]*\})? (\S+)$/);
    if (m && m[1] === name && (m[2] ?? '').includes(labels)) return Number(m[3]);
  }
  return undefined;
}

// One HTTP request with node:http; resolves {status, headers, body(Buffer)}.
export function request(url, { method = 'GET', headers = {}, body, agent = false, timeoutMs = 10000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks), rawHeaders: res.rawHeaders }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`request to ${url} timed out`)));
    req.on('error', reject);
    if (body !== undefined) req.end(body); else req.end();
  });
}

export async function json(url, opts) {
  const r = await request(url, opts);
  return { ...r, json: JSON.parse(r.body.toString() || 'null') };
}

// Sends raw bytes and collects everything the server sends until it closes the
// connection (or idleMs passes with nothing new). Returns {text, closed}.
export function raw(port, data, { idleMs = 1500, host = '127.0.0.1', chunks = null, gapMs = 0 } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, host);
    let buf = Buffer.alloc(0);
    let closed = false;
    let timer;
    const finish = () => { clearTimeout(timer); sock.destroy(); resolve({ text: buf.toString('latin1'), closed }); };
    const arm = () => { clearTimeout(timer); timer = setTimeout(finish, idleMs); };
    sock.on('data', (d) => { buf = Buffer.concat([buf, d]); arm(); });
    sock.on('end', () => { closed = true; finish(); });
    sock.on('error', (e) => { if (e.code === 'ECONNRESET') { closed = true; finish(); } else reject(e); });
    sock.on('connect', async () => {
      arm();
      const parts = chunks ?? [data];
      for (const part of parts) {
        if (sock.destroyed) break;
        sock.write(part);
        if (gapMs) await sleep(gapMs);
      }
    });
  });
}

// Splits a raw response stream into responses: [{status, headers(lowercase map), body}].
// Handles Content-Length and chunked bodies; `headRequests` lists which responses answer HEAD.
export function parseResponses(text, { headRequests = [] } = {}) {
  const out = [];
  let rest = text;
  let i = 0;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const lines = rest.slice(0, end).split('\r\n');
    const status = Number(lines[0].split(' ')[1]);
    const headers = {};
    for (const l of lines.slice(1)) {
      const c = l.indexOf(':');
      const k = l.slice(0, c).toLowerCase();
      const v = l.slice(c + 1).trim();
      headers[k] = headers[k] !== undefined ? `${headers[k]}, ${v}` : v;
    }
    rest = rest.slice(end + 4);
    let body = '';
    if (status >= 100 && status < 200) { out.push({ status, headers, body }); continue; }
    if (headRequests.includes(i) || status === 204 || status === 304) {
      // no body
    } else if (headers['transfer-encoding'] === 'chunked') {
      for (;;) {
        const le = rest.indexOf('\r\n');
        const size = parseInt(rest.slice(0, le), 16);
        rest = rest.slice(le + 2);
        if (size === 0) { rest = rest.slice(rest.indexOf('\r\n') + 2); break; }
        body += rest.slice(0, size);
        rest = rest.slice(size + 2);
      }
    } else if (headers['content-length'] !== undefined) {
      const n = Number(headers['content-length']);
      body = rest.slice(0, n);
      rest = rest.slice(n);
    } else {
      body = rest;
      rest = '';
    }
    out.push({ status, headers, body });
    i++;
  }
  return out;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on('error', reject);
  });
}

// Debian's nginx as an upstream, serving files from `files` (name -> content) plus
// any extra location blocks. Resolves {port, url, dir, stop()}.
export async function startNginx({ files = {}, locations = '', workers = 1 } = {}) {
  // nginx workers run as an unprivileged user when started as root: readable files.
  const dir = tempDir('portico-nginx-');
  fs.chmodSync(dir, 0o755);
  const www = path.join(dir, 'www');
  fs.mkdirSync(www, { mode: 0o755 });
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(www, name)), { recursive: true, mode: 0o755 });
    fs.writeFileSync(path.join(www, name), content, { mode: 0o644 });
  }
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    fs.writeFileSync(path.join(dir, 'nginx.conf'), `
worker_processes ${workers};
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  default_type application/octet-stream;
  types { application/json json; text/plain txt; }
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  keepalive_requests 100000;
  server {
    listen 127.0.0.1:${port};
    root ${www};
    ${locations}
  }
}`);
    const proc = spawn('/usr/sbin/nginx', ['-c', path.join(dir, 'nginx.conf'), '-p', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    proc.stderr.on('data', (d) => { err += d; });
    let exited = false;
    proc.on('exit', () => { exited = true; });
    try {
      await waitFor(async () => exited || (await canConnect(port)), { timeoutMs: 5000, what: 'nginx' });
    } catch (e) { proc.kill('SIGKILL'); throw e; }
    if (exited) {
      if (/Address already in use/.test(err + readIf(path.join(dir, 'error.log')))) continue;
      throw new Error(`nginx failed: ${err}${readIf(path.join(dir, 'error.log'))}`);
    }
    return {
      port, dir, url: `http://127.0.0.1:${port}`, address: `127.0.0.1:${port}`,
      stop: async () => { if (!exited) { proc.kill('SIGQUIT'); await Promise.race([once(proc, 'exit'), sleep(3000)]); proc.kill('SIGKILL'); } },
    };
  }
  throw new Error('nginx: no free port');
}

function readIf(f) { try { return fs.readFileSync(f, 'utf8'); } catch { return ''; } }

function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('connect', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

// A programmable upstream: handler(req, res) from node:http. Counts TCP connections.
export async function startUpstream(handler) {
  const server = http.createServer(handler);
  server.keepAliveTimeout = 60000;
  let connections = 0;
  const sockets = new Set();
  server.on('connection', (s) => { connections++; sockets.add(s); s.on('close', () => sockets.delete(s)); });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  return {
    port, address: `127.0.0.1:${port}`, url: `http://127.0.0.1:${port}`, server,
    get connections() { return connections; },
    stop: async () => { for (const s of sockets) s.destroy(); server.close(); },
  };
}

// Reads a request body fully.
export async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks);
}

// `portico check FILE` -> {code, stdout, stderr}
export function check(file) {
  const r = spawnSync(PORTICO_BIN, ['check', file], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
