// Config: `portico check`, start-up errors, and hot reload (SIGHUP, file change, admin)
// including reloads under load and requests in flight across a reload.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Portico, check, tempDir, request, json, startUpstream, startNginx, sleep, waitFor, metric } from './lib/harness.mjs';

const base = (body, extra = '') => `
server:
  listen: 127.0.0.1:0
  admin: 127.0.0.1:0
  workers: 2
routes:
  - name: greeting
    match: {path: /greeting}
    respond: {body: "${body}"}
${extra}`;

test('portico check: a typo gives file:line:col, the YAML path and a suggestion', () => {
  const dir = tempDir();
  const file = path.join(dir, 'typo.yaml');
  fs.writeFileSync(file, `server:
  listen: 127.0.0.1:0
upstreams:
  products:
    endpoints: [127.0.0.1:9001]
routes:
  - match: {path: /products}
    upstream: prodcts
  - match: {path: /x}
    respnd: {body: x}
`);
  const r = check(file);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`${file}:8:15: routes\\[0\\]\\.upstream: unknown upstream "prodcts" \\(did you mean "products"\\?\\)`));
  assert.match(r.stderr, new RegExp(`${file}:10:5: routes\\[1\\]\\.respnd: unknown key "respnd" \\(did you mean "respond"\\?\\)`));
  assert.match(r.stderr, /routes\[1\]: a route needs one of: upstream, split, respond, echo/);
  assert.match(r.stderr, /3 errors/);
});

test('portico check: a valid file passes; a missing file fails clearly', () => {
  const dir = tempDir();
  const file = path.join(dir, 'ok.yaml');
  fs.writeFileSync(file, base('hi'));
  let r = check(file);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /ok \(1 route, 0 upstreams\)/);
  r = check(path.join(dir, 'absent.yaml'));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cannot read file: No such file or directory/);
});

test('the quickstart example passes portico check', () => {
  const r = check(path.resolve(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '../../examples/quickstart/portico.yaml'));
  assert.equal(r.code, 0, r.stderr);
});

test('portico run refuses a bad config and says why', async () => {
  const p = await Portico.start('server:\n  listen: 127.0.0.1:0\n  wrkers: 2\nroutes: []\n', { expectFailure: true });
  assert.equal(p.exitCode, 1);
  await p.waitForLog(/portico.yaml:3:3: server.wrkers: unknown key "wrkers" \(did you mean "workers"\?\)/);
});

test('SIGHUP, file change and POST /reload all apply a new config', async () => {
  const p = await Portico.start(base('one'));
  assert.equal((await request(`${p.url}/greeting`)).body.toString(), 'one');

  fs.writeFileSync(p.configPath, base('two'));  // in-place write: the watcher may also fire
  p.signal('SIGHUP');
  await waitFor(async () => (await request(`${p.url}/greeting`)).body.toString() === 'two', { what: 'SIGHUP reload' });

  p.writeConfig(base('three'));  // editor-style replace; only the watcher reloads
  await waitFor(async () => (await request(`${p.url}/greeting`)).body.toString() === 'three', { what: 'file-change reload' });

  const r = await json(`${p.adminUrl}/reload`, { method: 'POST' });
  assert.equal(r.status, 200);
  assert.equal(r.json.status, 'ok');
  const m = await p.metrics();
  assert.ok(metric(m, 'portico_config_reloads_total', 'result="ok"') >= 3);
  assert.equal(metric(m, 'portico_config_generation'), r.json.generation);
  assert.equal(await p.stop(), 0);
});

test('a bad reload is reported and the old config keeps serving', async () => {
  const p = await Portico.start(base('good'), { args: ['--no-watch'] });
  fs.writeFileSync(p.configPath, base('bad', 'upstreams: {x: {endpoints: [127.0.0.1:1], balanse: random}}'));
  const r = await json(`${p.adminUrl}/reload`, { method: 'POST' });
  assert.equal(r.status, 422);
  assert.equal(r.json.status, 'failed');
  assert.equal(r.json.generation, 1);
  assert.match(r.json.errors[0], /upstreams\.x\.balanse: unknown key "balanse" \(did you mean "balance"\?\)/);
  assert.equal((await request(`${p.url}/greeting`)).body.toString(), 'good');
  const m = await p.metrics();
  assert.equal(metric(m, 'portico_config_reloads_total', 'result="failed"'), 1);
  assert.equal(metric(m, 'portico_config_last_reload_success'), 0);
  await p.waitForLog(/config reload \(admin API\) failed; still serving generation 1/);
  assert.equal(await p.stop(), 0);
});

test('settings that need a restart are kept and the log says so', async () => {
  const p = await Portico.start(base('a'), { args: ['--no-watch'] });
  fs.writeFileSync(p.configPath, base('b').replace('workers: 2', 'workers: 3'));
  const r = await json(`${p.adminUrl}/reload`, { method: 'POST' });
  assert.equal(r.status, 200);
  await p.waitForLog(/server.workers changed; restart Portico to apply it/);
  assert.equal((await request(`${p.url}/greeting`)).body.toString(), 'b');
  const cfg = await json(`${p.adminUrl}/config`);
  assert.equal(cfg.json.server.workers, 2);
  assert.equal(await p.stop(), 0);
});

test('no request fails across 20 reloads under load', async () => {
  const nginx = await startNginx({ files: { 'a.txt': 'from nginx' } });
  const cfg = (n) => base(`v${n}`, `upstreams:
  web: {endpoints: [${nginx.address}]}
` ).replace('routes:', `routes:
  - match: {path: "/web/{rest...}"}
    upstream: web
    rewrite: {strip_prefix: /web}`);
  const p = await Portico.start(cfg(0), { args: ['--no-watch'] });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  let stop = false;
  let ok = 0;
  const failures = [];
  const worker = async () => {
    while (!stop) {
      try {
        const [a, b] = await Promise.all([request(`${p.url}/web/a.txt`, { agent }), request(`${p.url}/greeting`, { agent })]);
        if (a.status === 200 && a.body.toString() === 'from nginx' && b.status === 200 && /^v\d+$/.test(b.body.toString())) ok++;
        else failures.push(`${a.status} ${b.status} ${b.body}`);
      } catch (e) { failures.push(String(e)); }
    }
  };
  const workers = Array.from({ length: 8 }, worker);
  for (let i = 1; i <= 20; i++) {
    await sleep(100);
    fs.writeFileSync(p.configPath, cfg(i));
    const r = await json(`${p.adminUrl}/reload`, { method: 'POST' });
    assert.equal(r.status, 200);
  }
  await sleep(200);
  stop = true;
  await Promise.all(workers);
  agent.destroy();
  assert.deepEqual(failures, []);
  assert.ok(ok > 100, `${ok} request pairs`);
  assert.equal((await request(`${p.url}/greeting`)).body.toString(), 'v20');
  assert.equal(await p.stop(), 0);
  await nginx.stop();
});

test('a request in flight finishes on the config it started with', async () => {
  const slow = await startUpstream(async (req, res) => { await sleep(1000); res.end('slow but complete'); });
  const withRoute = base('x', `upstreams:
  slow: {endpoints: [${slow.address}]}
`).replace('routes:', `routes:
  - match: {path: /slow}
    upstream: slow`);
  const p = await Portico.start(withRoute, { args: ['--no-watch'] });
  const inflight = request(`${p.url}/slow`);
  await sleep(200);
  fs.writeFileSync(p.configPath, base('y'));  // the /slow route and its upstream are gone
  const r = await json(`${p.adminUrl}/reload`, { method: 'POST' });
  assert.equal(r.status, 200);
  assert.equal((await request(`${p.url}/slow`)).status, 404, 'new requests see the new config');
  const done = await inflight;
  assert.equal(done.status, 200);
  assert.equal(done.body.toString(), 'slow but complete');
  assert.equal(await p.stop(), 0);
  await slow.stop();
});

test('the effective config is visible on /config', async () => {
  const p = await Portico.start(base('hi'));
  const r = await json(`${p.adminUrl}/config`);
  assert.equal(r.status, 200);
  assert.equal(r.json.routes[0].name, 'greeting');
  assert.equal(r.json.routes[0].respond.body, 'hi');
  assert.equal(r.json.server.limits.body, 10 * 1024 * 1024);
  assert.equal(r.json.server.timeouts.header, '10s');
  assert.equal(await p.stop(), 0);
});
