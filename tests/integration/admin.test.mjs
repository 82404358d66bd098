// Admin listener endpoints and the JSON access log.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Portico, request, json, metric, startNginx, tempDir, waitFor } from './lib/harness.mjs';

let p, nginx, logFile;

before(async () => {
  nginx = await startNginx({ files: { 'ok.txt': 'ok' } });
  const dir = tempDir();
  logFile = path.join(dir, 'access.log');
  p = await Portico.start(`
server:
  listen: 127.0.0.1:0
  admin: 127.0.0.1:0
  workers: 2
  access_log: {path: ${logFile}}
upstreams:
  web: {endpoints: [${nginx.address}]}
routes:
  - name: web
    match: {path: /ok.txt, methods: [GET]}
    upstream: web
  - name: hello
    match: {path: /hello}
    respond: {body: hi}
`, { dir });
});

after(async () => {
  assert.equal(await p.stop(), 0);
  await nginx.stop();
});

test('/healthz answers ok with the config generation', async () => {
  const r = await json(`${p.adminUrl}/healthz`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, { status: 'ok', generation: 1 });
});

test('/metrics: Prometheus text with route, status, latency and upstream series', async () => {
  for (let i = 0; i < 5; i++) await request(`${p.url}/ok.txt`);
  await request(`${p.url}/hello`);
  await request(`${p.url}/nope`);
  const r = await request(`${p.adminUrl}/metrics`);
  assert.equal(r.status, 200);
  assert.match(r.headers['content-type'], /^text\/plain; version=0.0.4/);
  const m = r.body.toString();
  assert.equal(metric(m, 'portico_route_requests_total', 'route="web",code="200"'), 5);
  assert.equal(metric(m, 'portico_route_requests_total', 'route="hello",code="200"'), 1);
  assert.equal(metric(m, 'portico_route_requests_total', 'route="(unmatched)",code="404"'), 1);
  assert.equal(metric(m, 'portico_route_request_duration_seconds_count', 'route="web"'), 5);
  assert.equal(metric(m, 'portico_route_request_duration_seconds_bucket', 'route="web",le="+Inf"'), 5);
  assert.ok(metric(m, 'portico_route_request_duration_seconds_sum', 'route="web"') > 0);
  assert.equal(metric(m, 'portico_upstream_requests_total', 'upstream="web"'), 5);
  assert.ok(metric(m, 'portico_upstream_connections_idle', 'upstream="web"') >= 1);
  assert.equal(metric(m, 'portico_upstream_connections_active', 'upstream="web"'), 0);
  assert.equal(metric(m, 'portico_config_reloads_total', 'result="ok"'), 0);
  assert.ok(metric(m, 'portico_http_requests_total') >= 7);
  // Every sample line is well-formed.
  for (const line of m.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    assert.match(line, /^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?[0-9.e+]+$/, line);
  }
});

test('/config is JSON of the effective config', async () => {
  const r = await json(`${p.adminUrl}/config`);
  assert.equal(r.json.upstreams.web.endpoints[0], nginx.address);
  assert.equal(r.json.routes.length, 2);
  assert.equal(r.json.server.access_log.path, logFile);
});

test('admin answers 404 and 405 with JSON', async () => {
  let r = await json(`${p.adminUrl}/nothing`);
  assert.equal(r.status, 404);
  assert.match(r.json.error, /try \/healthz/);
  r = await json(`${p.adminUrl}/reload`);
  assert.equal(r.status, 405);
  assert.equal(r.headers.allow, 'POST');
});

test('access log: one JSON line per request with the useful fields', async () => {
  await request(`${p.url}/ok.txt?x=1`, { headers: { 'x-request-id': 'log-me' } });
  const line = await waitFor(() => fs.readFileSync(logFile, 'utf8').split('\n').filter(Boolean)
    .map((l) => JSON.parse(l)).find((e) => e.request_id === 'log-me'), { what: 'access log line' });
  assert.equal(line.method, 'GET');
  assert.equal(line.target, '/ok.txt?x=1');
  assert.equal(line.status, 200);
  assert.equal(line.route, 'web');
  assert.equal(line.upstream, nginx.address);
  assert.equal(line.client, '127.0.0.1');
  assert.equal(line.bytes_out, 2);
  assert.ok(line.duration_ms >= 0);
  assert.match(line.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  // Every line of the file is valid JSON.
  for (const l of fs.readFileSync(logFile, 'utf8').split('\n').filter(Boolean)) JSON.parse(l);
});
