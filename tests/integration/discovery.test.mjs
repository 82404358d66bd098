// Service discovery against real sources: Debian's dnsmasq (A and SRV records), a
// watched file, and Debian's etcd. Traffic follows a change within one TTL / watch
// event; a source that goes away keeps the last endpoints and says so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Portico, freePort, json, metric, request, sleep, tempDir, waitFor } from './lib/harness.mjs';
import { sendMany, startDnsmasq, startEtcd, startLoad, startService, startServices } from './lib/peers.mjs';


const routes = `
routes:
  - match: {path: "/{rest...}"}
    upstream: svc
`;

async function names(p, n = 20) {
  const seen = {};
  for (let i = 0; i < n; i++) {
    const r = await json(`${p.url}/x`);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    seen[r.json.name] = (seen[r.json.name] ?? 0) + 1;
  }
  return seen;
}

async function upstreams(p) {
  return (await json(`${p.adminUrl}/upstreams`)).json.svc;
}

test('DNS A records: traffic follows a record change within one TTL, with no failed request', async () => {
  const port = await freePort();
  const a = await startService('a', port, '127.0.0.2');
  const b = await startService('b', port, '127.0.0.3');
  const dns = await startDnsmasq({ hosts: { 'svc.test': ['127.0.0.2'] }, ttl: 1 });
  const p = await Portico.start(`
server: {listen: [127.0.0.1:0], admin: 127.0.0.1:0, workers: 2}
upstreams:
  svc:
    discovery:
      dns: {name: svc.test, port: ${port}, servers: ["127.0.0.1:${dns.port}"], min_ttl: 200ms}
${routes}`);
  try {
    await waitFor(async () => (await request(`${p.url}/x`)).status === 200, { what: 'first DNS answer' });
    assert.deepEqual(Object.keys(await names(p)), ['a']);

    const load = startLoad(`${p.url}/x`, { concurrency: 4 });
    dns.setHosts({ 'svc.test': ['127.0.0.3'] });
    const changed = Date.now();
    await waitFor(async () => (await json(`${p.url}/x`)).json.name === 'b', { timeoutMs: 5000, what: 'traffic on b' });
    const took = Date.now() - changed;
    assert.ok(took < 2500, `took ${took} ms with a 1 s TTL`);
    await sleep(300);
    const stats = await load.stop();
    assert.equal(stats.failed, 0, JSON.stringify(stats.errors));
    assert.deepEqual(Object.keys(await names(p)), ['b']);

    // Both records: both endpoints.
    dns.setHosts({ 'svc.test': ['127.0.0.2', '127.0.0.3'] });
    await waitFor(async () => (await upstreams(p)).endpoints.length === 2, { what: 'two endpoints' });
    assert.deepEqual(Object.keys(await names(p, 40)).sort(), ['a', 'b']);
    const m = await p.metrics();
    assert.ok(metric(m, 'portico_upstream_discovery_updates_total', 'upstream="svc"') >= 3);
    assert.equal(metric(m, 'portico_upstream_discovery_ok', 'upstream="svc"'), 1);
  } finally {
    await p.stop();
  }
});

test('DNS SRV records: ports and weights from the records; a dead DNS server keeps the last endpoints', async () => {
  const [a, b, c] = await startServices(['a', 'b', 'c']);
  const hosts = { 'a.test': ['127.0.0.1'], 'b.test': ['127.0.0.1'], 'c.test': ['127.0.0.1'] };
  const name = '_http._tcp.svc.test';
  const dns = await startDnsmasq({
    hosts, ttl: 1,
    srv: [{ name, target: 'a.test', port: a.port, weight: 1 }, { name, target: 'b.test', port: b.port, weight: 3 }],
  });
  const p = await Portico.start(`
server: {listen: [127.0.0.1:0], admin: 127.0.0.1:0, workers: 1}
upstreams:
  svc:
    discovery:
      dns: {name: ${name}, type: SRV, servers: ["127.0.0.1:${dns.port}"], min_ttl: 200ms}
    balance: round_robin
${routes}`);
  try {
    await waitFor(async () => (await upstreams(p)).endpoints.length === 2, { what: 'SRV answer' });
    const state = await upstreams(p);
    assert.deepEqual(state.endpoints.map((e) => [e.address, e.weight]).sort(),
      [[a.address, 1], [b.address, 3]].sort());
    // Weighted round robin: exactly 1:3 in every 4 requests on one worker.
    const stats = await sendMany(`${p.url}/x`, 400, { concurrency: 1 });
    assert.deepEqual(stats.byName, { a: 100, b: 300 });

    // The DNS server goes away: the last endpoints stay, the failure shows.
    await dns.stop();
    await waitFor(async () => (await upstreams(p)).discovery.ok === false, { timeoutMs: 8000, what: 'discovery error' });
    assert.equal((await sendMany(`${p.url}/x`, 40)).failed, 0);
    const st = await upstreams(p);
    assert.equal(st.usable, 2);
    assert.match(st.discovery.error, /SRV _http._tcp.svc.test/);
    const m = await p.metrics();
    assert.equal(metric(m, 'portico_upstream_discovery_ok', 'upstream="svc"'), 0);
    assert.ok(metric(m, 'portico_upstream_discovery_errors_total', 'upstream="svc"') >= 1);
    await p.waitForLog(/discovery failed: .*keeping the last 2 endpoints/);

    // It comes back with different records: traffic follows.
    await dns.start({ srv: [{ name, target: 'c.test', port: c.port, weight: 1 }] });
    await waitFor(async () => (await json(`${p.url}/x`)).json.name === 'c', { timeoutMs: 15000, what: 'traffic on c' });
    assert.deepEqual(Object.keys(await names(p)), ['c']);
    assert.equal((await upstreams(p)).discovery.ok, true);
  } finally {
    await p.stop();
  }
});

test('DNS: a name that never resolves gives a 503 that says why, not an empty silence', async () => {
  const dns = await startDnsmasq({ hosts: {}, ttl: 1 });
  const p = await Portico.start(`
server: {listen: [127.0.0.1:0], admin: 127.0.0.1:0}
upstreams:
  svc:
    discovery:
      dns: {name: missing.test, port: 80, servers: ["127.0.0.1:${dns.port}"]}
${routes}`);
  try {
    await waitFor(async () => (await upstreams(p)).discovery.ok === false, { what: 'lookup failure' });
    const r = await json(`${p.url}/x`);
    assert.equal(r.status, 503);
    assert.equal(r.json.error, 'no usable endpoint for upstream "svc": discovery has found no endpoints (its last attempt failed)');
    // The details are for operators: /upstreams and the log, not the client.
    assert.match((await upstreams(p)).discovery.error, /missing\.test: /);
    await p.waitForLog(/upstream "svc": discovery failed: missing\.test: .*; no endpoints known yet/);
  } finally {
    await p.stop();
  }
});

test('file discovery: changes apply on save; a broken file keeps the last list', async () => {
  const [a, b] = await startServices(['a', 'b']);
  const dir = tempDir();
  const file = path.join(dir, 'endpoints.yaml');
  const write = (text) => { fs.writeFileSync(`${file}.tmp`, text); fs.renameSync(`${file}.tmp`, file); };
  write(`- ${a.address}\n`);
  const p = await Portico.start(`
server: {listen: [127.0.0.1:0], admin: 127.0.0.1:0}
upstreams:
  svc:
    discovery: {file: endpoints.yaml}
${routes}`, { dir });
  try {
    assert.deepEqual(Object.keys(await names(p)), ['a']);
    write(JSON.stringify({ endpoints: [{ address: b.address, weight: 2 }] }));
    await waitFor(async () => (await json(`${p.url}/x`)).json.name === 'b', { timeoutMs: 3000, what: 'switch to b' });
    assert.deepEqual(Object.keys(await names(p)), ['b']);

    write('- not an address\n');
    await waitFor(async () => (await upstreams(p)).discovery.ok === false, { what: 'parse error reported' });
    const st = await upstreams(p);
    assert.match(st.discovery.error, /endpoints\.yaml: item 0: "not an address"/);
    assert.deepEqual(Object.keys(await names(p)), ['b']);

    write('[]\n');  // an empty list is refused too: never an empty upstream by accident
    await waitFor(async () => /lists no endpoints/.test((await upstreams(p)).discovery.error ?? ''), { what: 'empty list refused' });
    assert.deepEqual(Object.keys(await names(p)), ['b']);

    write(`- ${a.address}\n- {host: 127.0.0.1, port: ${b.port}}\n`);
    await waitFor(async () => (await upstreams(p)).endpoints.length === 2, { what: 'two endpoints' });
    assert.deepEqual(Object.keys(await names(p, 40)).sort(), ['a', 'b']);
  } finally {
    await p.stop();
  }
});

test('etcd: keys under a prefix are endpoints; puts and deletes apply within a watch event; etcd restarts are survived', async () => {
  const [a, b, c] = await startServices(['a', 'b', 'c']);
  const etcd = await startEtcd();
  await etcd.put('/services/svc/a', a.address);
  await etcd.put('/services/other/x', '127.0.0.1:1');  // outside the prefix
  const p = await Portico.start(`
server: {listen: [127.0.0.1:0], admin: 127.0.0.1:0, workers: 2}
upstreams:
  svc:
    discovery:
      etcd: {endpoints: ["${etcd.url}"], prefix: /services/svc/}
${routes}`);
  try {
    await waitFor(async () => (await request(`${p.url}/x`)).status === 200, { what: 'first etcd answer' });
    assert.deepEqual(Object.keys(await names(p)), ['a']);

    const load = startLoad(`${p.url}/x`, { concurrency: 4 });
    await etcd.put('/services/svc/b', JSON.stringify({ address: b.address, weight: 1 }));
    let t = Date.now();
    await waitFor(async () => (await upstreams(p)).endpoints.length === 2, { timeoutMs: 3000, what: 'b added' });
    assert.ok(Date.now() - t < 1000, `watch took ${Date.now() - t} ms`);
    await etcd.del('/services/svc/a');
    t = Date.now();
    await waitFor(async () => (await upstreams(p)).endpoints.length === 1, { timeoutMs: 3000, what: 'a removed' });
    assert.ok(Date.now() - t < 1000, `watch took ${Date.now() - t} ms`);
    await sleep(200);
    const stats = await load.stop();
    assert.equal(stats.failed, 0, JSON.stringify(stats.errors));
    assert.deepEqual(Object.keys(await names(p)), ['b']);

    // etcd goes down: the last endpoints stay.
    await etcd.stop();
    await waitFor(async () => (await upstreams(p)).discovery.ok === false, { timeoutMs: 5000, what: 'etcd error' });
    assert.deepEqual(Object.keys(await names(p)), ['b']);
    // It comes back (same data): the watch resumes, and new keys apply.
    await etcd.start();
    await etcd.put('/services/svc/c', JSON.stringify({ nodes: { [c.address]: 1 } }));  // APISIX-style value
    await waitFor(async () => (await upstreams(p)).endpoints.length === 2, { timeoutMs: 15000, what: 'c added after restart' });
    assert.deepEqual(Object.keys(await names(p, 40)).sort(), ['b', 'c']);
    assert.equal((await upstreams(p)).discovery.ok, true);
  } finally {
    await p.stop();
  }
});
