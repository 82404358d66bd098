// server.trusted_proxies: behind a load balancer, the client address (rate-limit keys,
// ring hashing, echo, access log) comes from X-Forwarded-For, read from the right past
// trusted hops; anything to the left of the first untrusted address is the client's own
// writing and is ignored. The test client connects from 127.0.0.1, so trusting
// 127.0.0.1 makes it a "load balancer".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Portico, check, json, request, tempDir, waitFor } from './lib/harness.mjs';
import { startService } from './lib/peers.mjs';

const routes = (upstream) => `
rate_limits:
  per_client: {rate: 1/min, burst: 2, key: ip}
upstreams:
  svc: {endpoints: ["${upstream}"]}
routes:
  - {match: {path: /echo}, echo: true}
  - {match: {path: /limited}, respond: {status: 200, body: ok}, rate_limit: per_client}
  - {match: {path: /up}, upstream: svc}
`;

test('a trusted peer: the client is the rightmost untrusted X-Forwarded-For address, everywhere', async () => {
  const svc = await startService('svc');
  const logFile = path.join(tempDir('portico-xff-'), 'access.log');
  const p = await Portico.start(`
server: {listen: [127.0.0.1:0], admin: 127.0.0.1:0, workers: 2, access_log: {path: ${logFile}},
         trusted_proxies: [127.0.0.1, 10.0.0.0/8]}
${routes(svc.address)}`);
  try {
    const xff = (v) => ({ headers: { 'x-forwarded-for': v, 'x-request-id': `xff-${v.replace(/[^0-9a-f]/g, '')}` } });
    let r = await json(`${p.url}/echo`, xff('198.51.100.4'));
    assert.equal(r.json.client_ip, '198.51.100.4');
    // The client wrote its own header; the balancer (trusted) appended what it saw.
    r = await json(`${p.url}/echo`, xff('6.6.6.6, 198.51.100.4, 10.9.9.9'));
    assert.equal(r.json.client_ip, '198.51.100.4', 'a client cannot choose its address');
    r = await json(`${p.url}/echo`);
    assert.equal(r.json.client_ip, '127.0.0.1', 'no header: the peer');

    // Rate limits keyed on ip: one bucket per real client, not one for the balancer.
    const status = async (ip) => (await request(`${p.url}/limited`, xff(ip))).status;
    assert.deepEqual([await status('192.0.2.1'), await status('192.0.2.1'), await status('192.0.2.1')], [200, 200, 429]);
    assert.equal(await status('192.0.2.2'), 200, 'another client has its own bucket');
    assert.equal(await status('1.2.3.4, 192.0.2.1'), 429, 'spoofing a left entry does not give a new bucket');

    // Upstreams see the list with this hop (the peer) appended, as every proxy does.
    r = await json(`${p.url}/up`, xff('198.51.100.4'));
    assert.equal(r.json.headers['x-forwarded-for'], '198.51.100.4, 127.0.0.1');

    const line = await waitFor(() => fs.readFileSync(logFile, 'utf8').split('\n').filter(Boolean)
      .map((l) => JSON.parse(l)).find((e) => e.request_id === 'xff-198511004' && e.route !== undefined), { what: 'log line' });
    assert.equal(line.client, '198.51.100.4');
    assert.equal(line.peer, '127.0.0.1');
    const cfg = await json(`${p.adminUrl}/config`);
    assert.deepEqual(cfg.json.server.trusted_proxies, ['127.0.0.1', '10.0.0.0/8']);
  } finally {
    await p.stop();
    await svc.kill();
  }
});

test('an untrusted peer: X-Forwarded-For is ignored for the client address; bad ranges are config errors', async () => {
  const svc = await startService('svc');
  const p = await Portico.start(`
server: {listen: [127.0.0.1:0], admin: 127.0.0.1:0, workers: 1, trusted_proxies: [10.0.0.0/8]}
${routes(svc.address)}`);
  try {
    const r = await json(`${p.url}/echo`, { headers: { 'x-forwarded-for': '198.51.100.4' } });
    assert.equal(r.json.client_ip, '127.0.0.1');
    const codes = [];
    for (const ip of ['192.0.2.1', '192.0.2.2', '192.0.2.3']) {
      codes.push((await request(`${p.url}/limited`, { headers: { 'x-forwarded-for': ip } })).status);
    }
    assert.deepEqual(codes, [200, 200, 429], 'one bucket: the header does not split it');
  } finally {
    await p.stop();
    await svc.kill();
  }
  const file = path.join(tempDir(), 'bad.yaml');
  fs.writeFileSync(file, `
server: {listen: [127.0.0.1:0], trusted_proxies: [10.0.0.0/33, lb.internal]}
routes: [{match: {path: /}, respond: {status: 200}}]
`);
  const bad = check(file);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /server\.trusted_proxies: "10\.0\.0\.0\/33": the prefix length must be 0 to 32/);
  assert.match(bad.stderr, /server\.trusted_proxies: "lb\.internal": expected an IP address or a CIDR range/);
});
