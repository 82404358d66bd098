// Keys and tokens for the auth tests, made with the npm jose library: one signing key
// per JOSE algorithm, the public JWKS, and JWTs with chosen claims.
import crypto from 'node:crypto';
import * as jose from '../../node/jose.mjs';

export const ALGORITHMS = ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512',
  'ES256', 'ES384', 'ES512', 'EdDSA'];

export const ISSUER = 'https://id.test';
export const AUDIENCE = 'api';

// A signing key for alg, with kid `${alg}-${tag}`: {alg, kid, privateKey, publicJwk}.
// HS keys are secrets; their "public" JWK is the secret itself (config, never a JWKS).
export async function makeKey(alg, tag = '1') {
  const kid = `${alg}-${tag}`;
  if (alg.startsWith('HS')) {
    const bytes = crypto.randomBytes(Number(alg.slice(2)) / 8);
    return { alg, kid, privateKey: bytes, publicJwk: { kty: 'oct', k: bytes.toString('base64url'), alg, kid } };
  }
  const { privateKey, publicKey } = await jose.generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await jose.exportJWK(publicKey)), alg, kid, use: 'sig' };
  return { alg, kid, privateKey, publicKey, publicJwk };
}

export async function makeKeys(tag = '1') {
  const keys = {};
  for (const alg of ALGORITHMS) keys[alg] = await makeKey(alg, tag);
  return keys;
}

export function jwks(keys) {
  return { keys: Object.values(keys).filter((k) => !k.alg.startsWith('HS')).map((k) => k.publicJwk) };
}

// A JWT signed with key; claims default to a valid, 5-minute token for ISSUER/AUDIENCE.
// header overrides the protected header (kid, typ, ...).
export async function sign(key, claims = {}, header = {}) {
  const now = Math.floor(Date.now() / 1000);
  const body = { iss: ISSUER, aud: AUDIENCE, sub: 'user-1', iat: now, exp: now + 300, ...claims };
  for (const [k, v] of Object.entries(body)) if (v === undefined) delete body[k];
  return new jose.SignJWT(body).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...header }).sign(key.privateKey);
}

const b64 = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

// An unsigned token (alg "none"), as an attacker would send it.
export function unsigned(claims) {
  const now = Math.floor(Date.now() / 1000);
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ iss: ISSUER, aud: AUDIENCE, sub: 'user-1', exp: now + 300, ...claims })}.`;
}

// The classic algorithm confusion: HS256 with the RSA public key's bytes as the secret
// (and the RSA key's kid), hoping the verifier uses the "key" it finds as an HMAC key.
export async function confused(rsaKey) {
  const pem = await jose.exportSPKI(rsaKey.publicKey);
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: 'HS256', kid: rsaKey.kid, typ: 'JWT' };
  const payload = { iss: ISSUER, aud: AUDIENCE, sub: 'attacker', exp: now + 300 };
  const input = `${b64(header)}.${b64(payload)}`;
  const sig = crypto.createHmac('sha256', pem).update(input).digest('base64url');
  return `${input}.${sig}`;
}

// Flips one character of the signature.
export function tampered(token) {
  const i = token.length - 5;
  return token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1);
}
