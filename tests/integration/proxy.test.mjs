// Reverse proxy behaviour against real upstreams: Debian nginx for content, and small
// Node servers where a test needs an upstream that misbehaves on purpose.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { Portico, startNginx, startUpstream, request, raw, parseResponses, readBody, sleep, metric, freePort } from './lib/harness.mjs';

const SMALL = '{"message":"hello"}';
const BIG = crypto.randomBytes(256 * 1024);
// Sizes around the 16 KiB read block and the 64 KiB body buffer.
const SIZES = [1, 4095, 16383, 16384, 16385, 32768, 65535, 65536, 65537, 131072, 1000000];
const SIZED = Object.fromEntries(SIZES.map((n) => [`size/${n}.bin`, crypto.randomBytes(n)]));
const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');

let nginx, node, portico, deadPort;
const seen = [];  // requests the node upstream received: {method, url, headers, body}

before(async () => {
  nginx = await startNginx({
    files: { 'small.json': SMALL, 'big.bin': BIG, 'dir/file.txt': 'in a dir', ...SIZED },
    locations: 'location = /teapot { return 418 "short and stout"; }',
  });
  node = await startUpstream(async (req, res) => {
    const body = await readBody(req);
    seen.push({ method: req.method, url: req.url, headers: req.headers, rawHeaders: req.rawHeaders, body, httpVersion: req.httpVersion });
    const url = new URL(req.url, 'http://x');
    switch (url.pathname) {
      case '/headers':
        res.setHeader('Connection', 'close, X-Hop');
        res.setHeader('X-Hop', 'must not reach the client');
        res.setHeader('Keep-Alive', 'timeout=5');
        res.setHeader('X-Request-Id', 'upstream-id');
        res.setHeader('Via', '1.1 origin-cache');
        res.end(JSON.stringify(req.headers));
        return;
      case '/chunked':  // node sends chunked when no length is set
        res.write('part one,');
        await sleep(50);
        res.end('part two');
        return;
      case '/slow-stream':  // first piece, pause, second piece
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first\n');
        await sleep(800);
        res.end('second\n');
        return;
      case '/hang':  // never answers
        return;
      case '/close-mid-body':
        res.writeHead(200, { 'content-length': '100' });
        res.write('only part of it');
        await sleep(50);
        req.socket.destroy();
        return;
      case '/garbage':
        req.socket.end('HTTP/1.1 abc nonsense\r\n\r\n');
        return;
      case '/upload':
        res.end(JSON.stringify({ bytes: body.length, sha: sha(body), te: req.headers['transfer-encoding'] ?? null, cl: req.headers['content-length'] ?? null }));
        return;
      case '/status':
        res.writeHead(Number(url.searchParams.get('code')), { 'x-custom': 'yes' });
        res.end();
        return;
      default:
        res.end(`node upstream ${req.method} ${req.url}`);
    }
  });
  deadPort = await freePort();  // nothing listens there
  portico = await Portico.start(`
server:
  listen: 127.0.0.1:0
  admin: 127.0.0.1:0
  workers: 2
  limits: {body: 8MiB}
upstreams:
  nginx:
    endpoints: [${nginx.address}]
  node:
    endpoints: [${node.address}]
    timeouts: {connect: 1s, response: 1s}
  dead:
    endpoints: [127.0.0.1:${deadPort}]
routes:
  - match: {path: "/n/{rest...}"}
    upstream: nginx
    rewrite: {strip_prefix: /n}
  - match: {path: "/files/{name}"}
    upstream: nginx
    rewrite: {path: "/dir/{name}"}
  - match: {path: "/node/{rest...}"}
    upstream: node
    rewrite: {strip_prefix: /node}
  - match: {path: /slow/stream}
    upstream: node
    rewrite: {path: /slow-stream}
    timeouts: {response: 5s}
  - match: {path: /dead}
    upstream: dead
`);
});

after(async () => {
  assert.equal(await portico.stop(), 0);
  await nginx.stop();
  await node.stop();
});

test('small and large bodies pass through intact', async () => {
  let r = await request(`${portico.url}/n/small.json`);
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), SMALL);
  assert.equal(r.headers['content-length'], '19');
  assert.equal(r.headers['content-type'], 'application/json');
  assert.equal(r.headers.server, 'nginx/1.22.1');
  assert.equal(r.headers.via, '1.1 portico');
  r = await request(`${portico.url}/n/big.bin`);
  assert.equal(r.status, 200);
  assert.equal(sha(r.body), sha(BIG));
});

test('bodies of every size around the buffer boundaries, concurrently, intact', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const jobs = [];
  for (let round = 0; round < 8; round++) {
    for (const [name, content] of Object.entries(SIZED)) {
      jobs.push(request(`${portico.url}/n/${name}`, { agent }).then((r) => {
        assert.equal(r.status, 200, name);
        assert.equal(r.body.length, content.length, name);
        assert.equal(sha(r.body), sha(content), name);
      }));
    }
  }
  await Promise.all(jobs);
  agent.destroy();
});

test('path template rewrite', async () => {
  const r = await request(`${portico.url}/files/file.txt`);
  assert.equal(r.body.toString(), 'in a dir');
});

test('upstream statuses and bodies are passed through', async () => {
  let r = await request(`${portico.url}/n/teapot`);
  assert.equal(r.status, 418);
  assert.equal(r.body.toString(), 'short and stout');
  r = await request(`${portico.url}/n/missing`);
  assert.equal(r.status, 404);
  r = await request(`${portico.url}/node/status?code=204`);
  assert.equal(r.status, 204);
  assert.equal(r.headers['x-custom'], 'yes');
});

test('HEAD through the proxy: upstream headers, no body', async () => {
  const r = await raw(portico.port, 'HEAD /n/big.bin HTTP/1.1\r\nHost: a\r\n\r\nGET /n/small.json HTTP/1.1\r\nHost: a\r\n\r\n', { idleMs: 500 });
  const rs = parseResponses(r.text, { headRequests: [0] });
  assert.equal(rs.length, 2);
  assert.equal(rs[0].headers['content-length'], String(BIG.length));
  assert.equal(rs[1].body, SMALL);
});

test('forwarded headers: X-Forwarded-*, Via, X-Request-Id; hop-by-hop removed', async () => {
  seen.length = 0;
  const r = await request(`${portico.url}/node/headers?a=1`, {
    headers: {
      'x-forwarded-for': '203.0.113.7',
      'x-request-id': 'req-42',
      connection: 'keep-alive, X-Secret-Hop',
      'x-secret-hop': 'drop me',
      'keep-alive': 'timeout=9',
      te: 'trailers',
      'proxy-authorization': 'Basic abc',
      'x-end-to-end': 'keep me',
      via: '1.0 client-proxy',
    },
  });
  assert.equal(r.status, 200);
  const up = seen.at(-1);
  assert.equal(up.url, '/headers?a=1');
  assert.equal(up.headers['x-forwarded-for'], '203.0.113.7, 127.0.0.1');
  assert.equal(up.headers['x-forwarded-proto'], 'http');
  assert.equal(up.headers['x-forwarded-host'], `127.0.0.1:${portico.port}`);
  assert.equal(up.headers['x-request-id'], 'req-42');
  assert.equal(up.headers.via, '1.0 client-proxy, 1.1 portico');
  assert.equal(up.headers['x-end-to-end'], 'keep me');
  assert.equal(up.headers.host, `127.0.0.1:${portico.port}`);
  for (const h of ['x-secret-hop', 'keep-alive', 'te', 'proxy-authorization']) assert.equal(up.headers[h], undefined, h);
  // Response side: hop-by-hop and Connection-named headers removed, our id wins, Via appended.
  assert.equal(r.headers['x-hop'], undefined);
  assert.equal(r.headers['keep-alive'], undefined);
  assert.equal(r.headers['x-request-id'], 'req-42');
  assert.equal(r.headers.via, '1.1 origin-cache, 1.1 portico');
});

test('chunked upstream response is re-chunked for HTTP/1.1 and close-delimited for HTTP/1.0', async () => {
  let r = await raw(portico.port, 'GET /node/chunked HTTP/1.1\r\nHost: a\r\n\r\n', { idleMs: 500 });
  let rs = parseResponses(r.text);
  assert.equal(rs[0].headers['transfer-encoding'], 'chunked');
  assert.equal(rs[0].body, 'part one,part two');
  r = await raw(portico.port, 'GET /node/chunked HTTP/1.0\r\n\r\n', { idleMs: 2000 });
  assert.ok(r.closed);
  rs = parseResponses(r.text);
  assert.equal(rs[0].headers['transfer-encoding'], undefined);
  assert.equal(rs[0].headers.connection, 'close');
  assert.equal(rs[0].body, 'part one,part two');
});

test('request bodies: Content-Length and chunked uploads arrive intact', async () => {
  const payload = crypto.randomBytes(3 * 1024 * 1024 + 17);
  let r = await request(`${portico.url}/node/upload`, { method: 'POST', body: payload, headers: { 'content-length': payload.length } });
  let j = JSON.parse(r.body);
  assert.deepEqual([j.bytes, j.sha, j.cl, j.te], [payload.length, sha(payload), String(payload.length), null]);
  // chunked: node:http sends chunked when no length is given and the body is streamed
  r = await new Promise((resolve, reject) => {
    const req = http.request(`${portico.url}/node/upload`, { method: 'POST' }, async (res) => resolve({ body: await readBody(res) }));
    req.on('error', reject);
    for (let off = 0; off < payload.length; off += 100000) req.write(payload.subarray(off, off + 100000));
    req.end();
  });
  j = JSON.parse(r.body);
  assert.deepEqual([j.bytes, j.sha, j.te], [payload.length, sha(payload), 'chunked']);
});

test('POST without a body reaches the upstream with Content-Length: 0', async () => {
  seen.length = 0;
  const r = await request(`${portico.url}/node/upload`, { method: 'POST' });
  assert.equal(JSON.parse(r.body).bytes, 0);
  assert.equal(seen.at(-1).headers['content-length'], '0');
});

test('Expect: 100-continue is answered by Portico and not forwarded', async () => {
  seen.length = 0;
  const text = await new Promise((resolve) => {
    const s = net.connect(portico.port, '127.0.0.1', () => {
      s.write('PUT /node/upload HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n');
    });
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString();
      if (buf === 'HTTP/1.1 100 Continue\r\n\r\n') s.write('data');
      if (buf.includes('"bytes":4')) { s.destroy(); resolve(buf); }
    });
    setTimeout(() => { s.destroy(); resolve(buf); }, 3000);
  });
  assert.ok(text.startsWith('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK'), text);
  assert.equal(seen.at(-1).headers.expect, undefined);
});

test('response bodies stream: the first piece arrives before the upstream sends the rest', async () => {
  const start = Date.now();
  const times = await new Promise((resolve, reject) => {
    http.get(`${portico.url}/slow/stream`, (res) => {
      const t = [];
      res.on('data', (d) => t.push([Date.now() - start, d.toString()]));
      res.on('end', () => resolve(t));
    }).on('error', reject);
  });
  assert.equal(times[0][1], 'first\n');
  assert.ok(times[0][0] < 600, `first piece after ${times[0][0]} ms`);
  assert.ok(times.at(-1)[0] >= 700, 'second piece came later');
});

test('request bodies stream: the upstream starts receiving before the client finishes', async () => {
  let firstByteAt = 0;
  const up = await startUpstream((req, res) => {
    req.once('data', () => { firstByteAt = Date.now(); });
    req.on('end', () => res.end('ok'));
    req.resume();
  });
  const p = await Portico.start(`
server: {listen: 127.0.0.1:0, admin: off, workers: 1}
upstreams: {u: {endpoints: [${up.address}]}}
routes:
  - match: {path: /up}
    upstream: u
`);
  const start = Date.now();
  await new Promise((resolve, reject) => {
    const req = http.request(`${p.url}/up`, { method: 'POST', headers: { 'content-length': 10 } }, (res) => { res.resume(); res.on('end', resolve); });
    req.on('error', reject);
    req.write('hello');
    setTimeout(() => req.end('world'), 800);
  });
  assert.ok(firstByteAt - start < 600, `upstream saw the first bytes after ${firstByteAt - start} ms`);
  await p.stop();
  await up.stop();
});

test('keep-alive upstream pool: many requests, few upstream connections', async () => {
  const before = node.connections;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  for (let i = 0; i < 200; i++) {
    const r = await request(`${portico.url}/node/plain`, { agent });
    assert.equal(r.status, 200);
  }
  agent.destroy();
  const opened = node.connections - before;
  assert.ok(opened <= 4, `opened ${opened} upstream connections for 200 sequential requests`);
  const m = await portico.metrics();
  assert.ok(metric(m, 'portico_upstream_requests_reused_total', 'upstream="node"') >= 190);
});

test('upstream down -> 502 JSON with the request id', async () => {
  const r = await request(`${portico.url}/dead`, { headers: { 'x-request-id': 'dead-1' } });
  assert.equal(r.status, 502);
  const j = JSON.parse(r.body);
  assert.match(j.error, /cannot connect to upstream "dead": Connection refused/);
  assert.doesNotMatch(j.error, /127\.0\.0\.1/, 'endpoint addresses are not shown to clients');
  assert.equal(j.request_id, 'dead-1');
  assert.equal(r.headers['content-type'], 'application/json');
});

test('upstream that never answers -> 504 after the response timeout', async () => {
  const start = Date.now();
  const r = await request(`${portico.url}/node/hang`);
  assert.equal(r.status, 504);
  assert.match(JSON.parse(r.body).error, /did not respond in time/);
  const elapsed = Date.now() - start;
  assert.ok(elapsed >= 900 && elapsed < 3000, `${elapsed} ms`);
});

test('invalid upstream response -> 502', async () => {
  const r = await request(`${portico.url}/node/garbage`);
  assert.equal(r.status, 502);
  assert.match(JSON.parse(r.body).error, /invalid response from upstream "node"/);
});

test('upstream dying mid-body -> the client connection is cut, not a wrong response', async () => {
  const r = await raw(portico.port, 'GET /node/close-mid-body HTTP/1.1\r\nHost: a\r\n\r\n', { idleMs: 2000 });
  assert.ok(r.text.startsWith('HTTP/1.1 200 OK'));
  assert.ok(r.closed, 'connection closed');
  assert.ok(!r.text.endsWith('\r\n0\r\n\r\n'));
  const body = r.text.slice(r.text.indexOf('\r\n\r\n') + 4);
  assert.ok(body.length < 100, 'truncated');
});

test('stale pooled connection closed by the upstream is retried transparently', async () => {
  // An upstream with a very short keep-alive timeout closes idle connections.
  const up = await startUpstream((req, res) => res.end('fresh'));
  up.server.keepAliveTimeout = 100;
  const p = await Portico.start(`
server: {listen: 127.0.0.1:0, admin: off, workers: 1}
upstreams: {u: {endpoints: [${up.address}]}}
routes:
  - match: {path: /x}
    upstream: u
`);
  for (let i = 0; i < 5; i++) {
    const r = await request(`${p.url}/x`);
    assert.equal(r.status, 200, `attempt ${i}`);
    assert.equal(r.body.toString(), 'fresh');
    await sleep(150 + (i % 2) * 10);
  }
  await p.stop();
  await up.stop();
});

test('concurrent load through the proxy: every response correct', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  const jobs = [];
  for (let i = 0; i < 2000; i++) {
    jobs.push(request(`${portico.url}/n/small.json`, { agent }).then((r) => {
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), SMALL);
    }));
  }
  await Promise.all(jobs);
  agent.destroy();
});
