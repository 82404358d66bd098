// proxy-bench helper: for each algorithm given, a fresh key pair, its public JWKS file and
// a token valid for a day, written to DIR/<alg>.jwks.json and DIR/<alg>.token.
//   node bench/jwt-keys.mjs DIR RS256 ES256
import fs from 'node:fs';
import path from 'node:path';
import * as jose from '../tests/node/jose.mjs';

const [dir, ...algs] = process.argv.slice(2);
fs.mkdirSync(dir, { recursive: true });
for (const alg of algs) {
  const { privateKey, publicKey } = await jose.generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await jose.exportJWK(publicKey)), alg, kid: `bench-${alg}`, use: 'sig' };
  fs.writeFileSync(path.join(dir, `${alg.toLowerCase()}.jwks.json`), JSON.stringify({ keys: [jwk] }));
  const token = await new jose.SignJWT({ sub: 'bench-user', scope: 'bench' })
    .setProtectedHeader({ alg, kid: jwk.kid, typ: 'JWT' })
    .setIssuer('https://id.bench').setAudience('bench').setIssuedAt().setExpirationTime('1d')
    .sign(privateKey);
  fs.writeFileSync(path.join(dir, `${alg.toLowerCase()}.token`), token);
}
