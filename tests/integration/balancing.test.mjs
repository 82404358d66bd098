// Load balancing and traffic splitting with real upstream processes: weights, least
// request, consistent hashing, weighted and matched splits, sticky splits, mirroring,
// and a strangler-fig migration done by editing the config under load.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Portico, json, metric, request, sleep, waitFor } from './lib/harness.mjs';
import { sendMany, startLoad, startServices } from './lib/peers.mjs';


const server = 'server: {listen: [127.0.0.1:0], admin: 127.0.0.1:0, workers: 2}';

// |observed share - expected share| <= 5% of the expected share.
function assertShare(count, total, expected, what) {
  const share = count / total;
  assert.ok(Math.abs(share - expected) <= expected * 0.05,
    `${what}: ${(share * 100).toFixed(2)}% of ${total}, expected ${(expected * 100).toFixed(1)}% ±5%`);
}

test('weighted split: 10,000 requests land within ±5% of the configured 30/70 shares', async () => {
  const [orders, legacy] = await startServices(['orders', 'legacy']);
  const p = await Portico.start(`${server}
upstreams:
  orders: {endpoints: [${orders.address}]}
  legacy: {endpoints: [${legacy.address}]}
routes:
  - match: {path: "/orders/{rest...}"}
    split:
      - {upstream: orders, weight: 30}
      - {upstream: legacy, weight: 70}
`);
  try {
    const stats = await sendMany(`${p.url}/orders/1`, 10000, { concurrency: 16 });
    assert.equal(stats.failed, 0, JSON.stringify(stats.errors));
    assertShare(stats.byName.orders, 10000, 0.3, 'orders');
    assertShare(stats.byName.legacy, 10000, 0.7, 'legacy');
  } finally {
    await p.stop();
  }
});

test('matched split: header, cookie and query conditions pick their target; the rest is weighted', async () => {
  const [canary, stable] = await startServices(['canary', 'stable']);
  const p = await Portico.start(`${server}
upstreams:
  canary: {endpoints: [${canary.address}]}
  stable: {endpoints: [${stable.address}]}
routes:
  - match: {path: "/{rest...}"}
    split:
      - {upstream: canary, when: {header: {X-Canary: "always"}}}
      - {upstream: canary, when: {cookie: {release: beta}}}
      - {upstream: canary, when: {query: {canary: "1"}}}
      - {upstream: stable, weight: 1}
      - {upstream: canary, weight: 0}
`);
  try {
    const name = async (opts, path = '/x') => (await json(`${p.url}${path}`, opts)).json.name;
    for (let i = 0; i < 20; i++) assert.equal(await name({}), 'stable');
    for (let i = 0; i < 10; i++) assert.equal(await name({ headers: { 'x-canary': 'always' } }), 'canary');
    assert.equal(await name({ headers: { 'x-canary': 'sometimes' } }), 'stable');
    assert.equal(await name({ headers: { cookie: 'theme=dark; release=beta' } }), 'canary');
    assert.equal(await name({ headers: { cookie: 'release=stable' } }), 'stable');
    assert.equal(await name({}, '/x?a=b&canary=1'), 'canary');
    assert.equal(await name({}, '/x?canary=0'), 'stable');
  } finally {
    await p.stop();
  }
});

test('sticky split: one user always lands on the same side; users spread by the weights', async () => {
  const [a, b] = await startServices(['a', 'b']);
  const p = await Portico.start(`${server}
upstreams:
  a: {endpoints: [${a.address}]}
  b: {endpoints: [${b.address}]}
routes:
  - match: {path: "/{rest...}"}
    split: [{upstream: a, weight: 50}, {upstream: b, weight: 50}]
    split_key: header:X-User
`);
  try {
    const sides = {};
    await sendMany(`${p.url}/x`, 2000, {
      headersFn: (i) => ({ 'x-user': `user-${i % 200}` }),
      onResponse: (i, r) => {
        const user = `user-${i % 200}`;
        const side = JSON.parse(r.body.toString()).name;
        (sides[user] ??= new Set()).add(side);
      },
    });
    assert.equal(Object.keys(sides).length, 200);
    for (const [user, set] of Object.entries(sides)) assert.equal(set.size, 1, `${user} saw ${[...set]}`);
    const onA = Object.values(sides).filter((s) => s.has('a')).length;
    assert.ok(onA > 70 && onA < 130, `${onA} of 200 users on a`);
  } finally {
    await p.stop();
  }
});

test('weighted endpoints: least_request keeps to the weights when endpoints keep up', async () => {
  const [a, b] = await startServices(['a', 'b']);
  const p = await Portico.start(`${server}
upstreams:
  svc:
    endpoints: [{address: ${a.address}, weight: 1}, {address: ${b.address}, weight: 3}]
routes:
  - match: {path: "/{rest...}"}
    upstream: svc
`);
  try {
    // One request at a time: nothing in flight at each choice, so the shares are the
    // weights (under load they bend towards whichever endpoint answers faster).
    const stats = await sendMany(`${p.url}/x`, 2000, { concurrency: 1 });
    assert.equal(stats.failed, 0);
    const share = stats.byName.b / 2000;
    assert.ok(share > 0.72 && share < 0.78, `b got ${(share * 100).toFixed(1)}%, weight says 75%`);
  } finally {
    await p.stop();
  }
});

test('least_request sends less to a slow endpoint than round_robin does', async () => {
  const [fast, slow] = await startServices(['fast', 'slow']);
  const share = async (balance) => {
    const p = await Portico.start(`${server}
upstreams:
  svc: {endpoints: [${fast.address}, ${slow.address}], balance: ${balance}}
routes:
  - match: {path: "/{rest...}"}
    upstream: svc
`);
    try {
      const stats = await sendMany(`${p.url}/x`, 300, { concurrency: 8 });
      assert.equal(stats.failed, 0);
      return stats.byName.slow ?? 0;
    } finally {
      await p.stop();
    }
  };
  await slow.control('delay?ms=100');  // every request to "slow" takes 100 ms
  const rr = await share('round_robin');
  const lr = await share('least_request');
  await slow.control('delay?ms=0');
  assert.ok(rr >= 130, `round_robin sent ${rr} of 300 to the slow endpoint`);
  assert.ok(lr < 60, `least_request sent ${lr} of 300 to the slow endpoint`);
});

test('ring_hash: a key sticks to one endpoint, and removing an endpoint moves only its keys', async () => {
  const [a, b, c] = await startServices(['a', 'b', 'c']);
  const config = (eps) => `${server}
upstreams:
  svc:
    endpoints: [${eps.map((s) => s.address).join(', ')}]
    balance: ring_hash
    hash_key: cookie:session
routes:
  - match: {path: "/{rest...}"}
    upstream: svc
`;
  const p = await Portico.start(config([a, b, c]));
  try {
    const owner = async (key) => (await json(`${p.url}/x`, { headers: { cookie: `session=${key}` } })).json.name;
    const before = {};
    for (let k = 0; k < 150; k++) before[k] = await owner(k);
    for (let k = 0; k < 150; k += 10) assert.equal(await owner(k), before[k], 'same key, same endpoint');
    const counts = Object.values(before).reduce((m, n) => ({ ...m, [n]: (m[n] ?? 0) + 1 }), {});
    for (const n of ['a', 'b', 'c']) assert.ok(counts[n] > 20, `${n} owns ${counts[n]} of 150 keys`);

    p.writeConfig(config([a, b]));
    await waitFor(async () => (await json(`${p.adminUrl}/upstreams`)).json.svc.endpoints.length === 2, { what: 'reload' });
    await sleep(100);
    for (let k = 0; k < 150; k++) {
      const now = await owner(k);
      if (before[k] !== 'c') assert.equal(now, before[k], `key ${k} moved from ${before[k]} to ${now}`);
      else assert.notEqual(now, 'c');
    }
    // Requests without the key are still balanced.
    const r = await sendMany(`${p.url}/x`, 100, { concurrency: 4 });
    assert.equal(r.failed, 0);
  } finally {
    await p.stop();
  }
});

test('mirror: a copy of each request reaches the shadow; a slow or dead shadow never slows or fails the real one', async () => {
  const [main, shadow] = await startServices(['main', 'shadow']);
  const p = await Portico.start(`${server}
upstreams:
  main: {endpoints: [${main.address}]}
  shadow: {endpoints: [${shadow.address}], timeouts: {response: 2s}}
routes:
  - match: {path: "/{rest...}"}
    upstream: main
    mirror: {upstream: shadow, percent: 100}
`);
  try {
    const before = await shadow.count();
    const r = await json(`${p.url}/orders?id=1`, { method: 'POST', body: '{"item":42}', headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 200);
    assert.equal(r.json.name, 'main');
    await waitFor(async () => (await shadow.count()) === before + 1, { what: 'the copy' });

    const stats = await sendMany(`${p.url}/x`, 200, { concurrency: 4 });
    assert.equal(stats.failed, 0);
    await waitFor(async () => (await shadow.count()) === before + 201, { what: 'every copy' });

    // A slow shadow: the real responses stay fast.
    await shadow.control('delay?ms=500');
    const t = Date.now();
    for (let i = 0; i < 20; i++) assert.equal((await request(`${p.url}/x`)).status, 200);
    assert.ok(Date.now() - t < 2000, `20 requests took ${Date.now() - t} ms with a 500 ms shadow`);
    await shadow.control('delay?ms=0');

    // A dead shadow: nothing fails.
    await shadow.kill();
    const dead = await sendMany(`${p.url}/x`, 100, { concurrency: 4 });
    assert.equal(dead.failed, 0);
    const m = await p.metrics();
    assert.ok(metric(m, 'portico_upstream_mirrored_total', 'upstream="shadow"') >= 221);
  } finally {
    await p.stop();
  }
});

test('strangler fig: /orders moves from legacy to orders 10% -> 50% -> 100% by config edits under load, zero failures', async () => {
  const [orders, legacy] = await startServices(['orders', 'legacy']);
  const config = (w) => `${server}
upstreams:
  orders: {endpoints: [${orders.address}]}
  legacy: {endpoints: [${legacy.address}]}
routes:
  - match: {path: "/orders/{rest...}"}
    split:
      - {upstream: orders, weight: ${w}}
      - {upstream: legacy, weight: ${100 - w}}
  - match: {path: "/{rest...}"}
    upstream: legacy
`;
  const p = await Portico.start(config(10));
  try {
    const load = startLoad(`${p.url}/orders/7`, { concurrency: 8 });
    let reloads = 0;
    const phase = async (weight) => {
      if (weight !== 10) {
        p.writeConfig(config(weight));
        reloads++;
        await waitFor(async () => metric(await p.metrics(), 'portico_config_reloads_total', 'result="ok"') === reloads,
          { what: `reload to ${weight}%` });
        // Requests in flight finish on the config they started with: let them drain
        // before measuring the new shares.
        await sleep(200);
      }
      const start = { ...load.stats.byName };
      await sleep(1500);
      const o = (load.stats.byName.orders ?? 0) - (start.orders ?? 0);
      const l = (load.stats.byName.legacy ?? 0) - (start.legacy ?? 0);
      return o / (o + l);
    };
    const s10 = await phase(10);
    const s50 = await phase(50);
    const s100 = await phase(100);
    const stats = await load.stop();
    assert.equal(stats.failed, 0, JSON.stringify(stats.errors));
    assert.ok(s10 > 0.04 && s10 < 0.18, `10% phase: ${s10}`);
    assert.ok(s50 > 0.4 && s50 < 0.6, `50% phase: ${s50}`);
    assert.equal(s100, 1, `100% phase: ${s100}`);
    assert.equal((await json(`${p.url}/other`)).json.name, 'legacy');
  } finally {
    await p.stop();
  }
});
