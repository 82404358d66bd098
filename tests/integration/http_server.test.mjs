// HTTP/1.1 server conformance: raw bytes in, exact status and connection behaviour out.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Portico, raw, parseResponses, request, sleep, metric } from './lib/harness.mjs';

const CONFIG = `
server:
  listen: 127.0.0.1:0
  admin: 127.0.0.1:0
  workers: 2
  limits: {request_line: 1KiB, header_bytes: 4KiB, header_count: 20, body: 64KiB}
  timeouts: {header: 1s, body: 1s, keepalive: 2s, send: 5s}
routes:
  - match: {path: "/echo/{rest...}"}
    echo: true
  - match: {path: /hello, methods: [GET]}
    respond: {body: hi}
`;

let portico;
before(async () => { portico = await Portico.start(CONFIG); });
after(async () => { assert.equal(await portico.stop(), 0); });

// Sends one raw request; returns the parsed responses and whether the server closed.
async function send(data, opts = {}) {
  const r = await raw(portico.port, data, opts);
  return { ...r, responses: parseResponses(r.text, opts) };
}

const malformed = [
  ['both Content-Length and Transfer-Encoding', 'POST /echo/x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400],
  ['duplicate Content-Length', 'POST /echo/x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello', 400],
  ['Content-Length list', 'POST /echo/x HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\nhello', 400],
  ['negative Content-Length', 'POST /echo/x HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n', 400],
  ['non-numeric Content-Length', 'POST /echo/x HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n', 400],
  ['unsupported transfer coding', 'POST /echo/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n', 501],
  ['chunked not last', 'POST /echo/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n', 501],
  ['Transfer-Encoding in HTTP/1.0', 'POST /echo/x HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400],
  ['bad chunk size', 'POST /echo/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n', 400],
  ['chunk size overflow', 'POST /echo/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n', 400],
  ['missing CRLF after chunk data', 'POST /echo/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n', 400],
  ['obs-fold', 'GET /hello HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n  continued\r\n\r\n', 400],
  ['bare CR in header', 'GET /hello HTTP/1.1\r\nHost: a\r\nX-A: 1\r2\r\n\r\n', 400],
  ['bare LF line ending', 'GET /hello HTTP/1.1\nHost: a\n\n', 400],
  ['space before colon', 'GET /hello HTTP/1.1\r\nHost : a\r\n\r\n', 400],
  ['invalid header name', 'GET /hello HTTP/1.1\r\nHost: a\r\nX(A): 1\r\n\r\n', 400],
  ['NUL in header value', 'GET /hello HTTP/1.1\r\nHost: a\r\nX-A: a\x00b\r\n\r\n', 400],
  ['missing Host', 'GET /hello HTTP/1.1\r\n\r\n', 400],
  ['two Host headers', 'GET /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400],
  ['HTTP/2.0 version', 'GET /hello HTTP/2.0\r\nHost: a\r\n\r\n', 505],
  ['malformed version', 'GET /hello HTTP/1.1x\r\nHost: a\r\n\r\n', 400],
  ['lower-case version', 'GET /hello http/1.1\r\nHost: a\r\n\r\n', 400],
  ['unsupported expectation', 'GET /hello HTTP/1.1\r\nHost: a\r\nExpect: magic\r\n\r\n', 417],
  ['binary garbage', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03', 400],
  ['CONNECT', 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n', 501],
];

for (const [name, data, status] of malformed) {
  test(`malformed: ${name} -> ${status} and close`, async () => {
    const r = await send(data);
    assert.equal(r.responses.length, 1, `one response, got: ${JSON.stringify(r.text)}`);
    assert.equal(r.responses[0].status, status, r.text);
    assert.equal(r.responses[0].headers['content-type'], 'application/json');
    const body = JSON.parse(r.responses[0].body);
    assert.ok(body.error.length > 0);
    assert.match(body.request_id, /^[0-9a-f-]{36}$/);
    assert.ok(r.closed, 'connection closed after the error');
  });
}

test('limits: long request line -> 414', async () => {
  const r = await send(`GET /echo/${'a'.repeat(2000)} HTTP/1.1\r\nHost: a\r\n\r\n`);
  assert.equal(r.responses[0].status, 414);
  assert.ok(r.closed);
});

test('limits: too many header bytes -> 431', async () => {
  const r = await send(`GET /hello HTTP/1.1\r\nHost: a\r\nX-Big: ${'b'.repeat(5000)}\r\n\r\n`);
  assert.equal(r.responses[0].status, 431);
  assert.ok(r.closed);
});

test('limits: too many headers -> 431', async () => {
  let h = '';
  for (let i = 0; i < 25; i++) h += `X-H${i}: ${i}\r\n`;
  const r = await send(`GET /hello HTTP/1.1\r\nHost: a\r\n${h}\r\n`);
  assert.equal(r.responses[0].status, 431);
});

test('limits: Content-Length over the body limit -> 413 without reading it', async () => {
  const r = await send(`POST /echo/x HTTP/1.1\r\nHost: a\r\nContent-Length: ${128 * 1024}\r\n\r\n`);
  assert.equal(r.responses[0].status, 413);
  assert.match(JSON.parse(r.responses[0].body).error, /exceeds the limit of 65536 bytes/);
  assert.ok(r.closed);
});

test('limits: chunked body growing over the limit -> 413', async () => {
  const chunk = `8000\r\n${'x'.repeat(0x8000)}\r\n`;
  const r = await send(`POST /echo/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n${chunk}${chunk}${chunk}0\r\n\r\n`);
  assert.equal(r.responses[0].status, 413);
  assert.ok(r.closed);
});

test('keep-alive and pipelining: three requests in one write, answered in order', async () => {
  const data = 'GET /echo/1 HTTP/1.1\r\nHost: a\r\n\r\n' +
    'POST /echo/2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc' +
    'GET /echo/3 HTTP/1.1\r\nHost: a\r\n\r\n';
  const r = await send(data, { idleMs: 500 });
  assert.equal(r.responses.length, 3);
  assert.deepEqual(r.responses.map((x) => JSON.parse(x.body).path), ['/echo/1', '/echo/2', '/echo/3']);
  assert.equal(JSON.parse(r.responses[1].body).body, 'abc');
  assert.equal(r.closed, false, 'keep-alive connection stays open');
});

test('pipelined request after a half-close is still answered', async () => {
  const r = await new Promise((resolve) => {
    import('node:net').then(({ default: net }) => {
      const s = net.connect(portico.port, '127.0.0.1', () => {
        s.end('GET /echo/a HTTP/1.1\r\nHost: a\r\n\r\nGET /echo/b HTTP/1.1\r\nHost: a\r\n\r\n');
      });
      let text = '';
      s.on('data', (d) => { text += d.toString('latin1'); });
      s.on('close', () => resolve(text));
    });
  });
  const responses = parseResponses(r);
  assert.deepEqual(responses.map((x) => JSON.parse(x.body).path), ['/echo/a', '/echo/b']);
});

test('a body cut short by the client FIN still lets earlier pipelined answers out', async () => {
  const net = (await import('node:net')).default;
  const text = await new Promise((resolve) => {
    const s = net.connect(portico.port, '127.0.0.1', () => {
      s.end('GET /echo/first HTTP/1.1\r\nHost: a\r\n\r\nPOST /echo/second HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc');
    });
    let buf = '';
    s.on('data', (d) => { buf += d.toString('latin1'); });
    s.on('close', () => resolve(buf));
  });
  const responses = parseResponses(text);
  assert.equal(responses.length, 1, text);
  assert.equal(JSON.parse(responses[0].body).path, '/echo/first');
});

test('chunked request body is decoded', async () => {
  const r = await send('POST /echo/c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n4\r\ndefg\r\n0\r\nX-Trailer: t\r\n\r\n', { idleMs: 500 });
  assert.equal(r.responses[0].status, 200);
  assert.equal(JSON.parse(r.responses[0].body).body, 'abcdefg');
});

test('HEAD gets headers and no body', async () => {
  const r = await send('HEAD /hello HTTP/1.1\r\nHost: a\r\n\r\nGET /hello HTTP/1.1\r\nHost: a\r\n\r\n', { idleMs: 500, headRequests: [0] });
  assert.equal(r.responses.length, 2);
  assert.equal(r.responses[0].status, 200);
  assert.equal(r.responses[0].headers['content-length'], '2');
  assert.equal(r.responses[0].body, '');
  assert.equal(r.responses[1].body, 'hi');
});

test('Expect: 100-continue gets 100 before the body is sent', async () => {
  const net = (await import('node:net')).default;
  const text = await new Promise((resolve) => {
    const s = net.connect(portico.port, '127.0.0.1', () => {
      s.write('POST /echo/e HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
    });
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString('latin1');
      if (buf === 'HTTP/1.1 100 Continue\r\n\r\n') s.write('hello');
      if (buf.includes('"body":"hello"')) { s.destroy(); resolve(buf); }
    });
    setTimeout(() => { s.destroy(); resolve(buf); }, 3000);
  });
  assert.ok(text.startsWith('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n'), text);
});

test('Expect: 100-continue with an oversized body gets 413 and no 100', async () => {
  const r = await send(`POST /echo/e HTTP/1.1\r\nHost: a\r\nContent-Length: 999999\r\nExpect: 100-continue\r\n\r\n`);
  assert.equal(r.responses.length, 1);
  assert.equal(r.responses[0].status, 413);
});

test('HTTP/1.0 request: answered and closed unless keep-alive is asked for', async () => {
  let r = await send('GET /hello HTTP/1.0\r\n\r\n');
  assert.equal(r.responses[0].status, 200);
  assert.ok(r.closed);
  r = await send('GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n', { idleMs: 400 });
  assert.equal(r.responses[0].headers.connection, 'keep-alive');
  assert.equal(r.closed, false);
});

test('absolute-form target routes on its path and host', async () => {
  const r = await send('GET http://example.test/echo/abs?q=1 HTTP/1.1\r\nHost: other\r\n\r\n', { idleMs: 400 });
  const body = JSON.parse(r.responses[0].body);
  assert.equal(body.path, '/echo/abs');
  assert.equal(body.host, 'example.test');
  assert.equal(body.query, 'q=1');
});

test('path is normalised before routing', async () => {
  const r = await send('GET /x/../echo/%61b/./c HTTP/1.1\r\nHost: a\r\n\r\n', { idleMs: 400 });
  assert.equal(JSON.parse(r.responses[0].body).path, '/echo/ab/c');
});

test('header timeout: a slow head gets 408 and is closed', async () => {
  const start = Date.now();
  const r = await send('GET /hello HTTP/1.1\r\nHost: a\r\n', { idleMs: 3000 });
  assert.equal(r.responses[0].status, 408);
  assert.ok(r.closed);
  assert.ok(Date.now() - start >= 900, 'waited for the 1s header timeout');
});

test('slowloris: bytes trickling in do not extend the header timeout', async () => {
  const chunks = Array.from({ length: 30 }, (_, i) => `X-${i}: y\r\n`);
  chunks.unshift('GET /hello HTTP/1.1\r\nHost: a\r\n');
  const start = Date.now();
  const r = await send('', { chunks, gapMs: 100, idleMs: 3000 });
  assert.equal(r.responses[0].status, 408);
  assert.ok(Date.now() - start < 2500, 'closed at the header deadline');
});

test('body timeout: a stalled body gets 408', async () => {
  const r = await send('POST /echo/x HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc', { idleMs: 3000 });
  assert.equal(r.responses[0].status, 408);
  assert.ok(r.closed);
});

test('idle keep-alive connections are closed after the keep-alive timeout', async () => {
  const start = Date.now();
  const r = await send('GET /hello HTTP/1.1\r\nHost: a\r\n\r\n', { idleMs: 5000 });
  assert.equal(r.responses[0].status, 200);
  assert.ok(r.closed);
  const elapsed = Date.now() - start;
  assert.ok(elapsed >= 1800 && elapsed < 4000, `closed after ~2s (${elapsed} ms)`);
});

test('X-Request-Id: kept when sent, generated when absent, echoed on the response', async () => {
  let r = await request(`${portico.url}/echo/id`, { headers: { 'x-request-id': 'abc-123' } });
  assert.equal(r.headers['x-request-id'], 'abc-123');
  assert.equal(JSON.parse(r.body).request_id, 'abc-123');
  r = await request(`${portico.url}/echo/id`);
  assert.match(r.headers['x-request-id'], /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

test('unknown route -> 404 JSON; wrong method -> 405 with Allow', async () => {
  let r = await request(`${portico.url}/nowhere`);
  assert.equal(r.status, 404);
  assert.equal(JSON.parse(r.body).error, 'no route for GET /nowhere');
  r = await request(`${portico.url}/hello`, { method: 'DELETE' });
  assert.equal(r.status, 405);
  assert.equal(r.headers.allow, 'GET, HEAD');
});

test('the server keeps serving after all of the above, and counted the bad requests', async () => {
  const r = await request(`${portico.url}/hello`);
  assert.equal(r.status, 200);
  const m = await portico.metrics();
  assert.ok(metric(m, 'portico_http_bad_requests_total') >= malformed.length);
  assert.ok(metric(m, 'portico_http_timeouts_total') >= 3);
});
