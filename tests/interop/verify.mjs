// Verifies tokens against a PowerSync config the way the PowerSync Service (v1.25) does:
// the config loaded by the service's own loading (service-config.mjs: yaml 2 with its
// `!env` tag, the service-types codec, which keeps only a JWK's schema members, and its
// JSON schema), static keys imported with jose's importJWK, then KeyStore.getCachedKey's
// key selection and verifyJwt's order of checks.
//
// Keys behind a `jwks_uri` are fetched as the service's RemoteJWKSCollector does.
//
// usage: node verify.mjs [--at UNIX_SECONDS] <config> <env-file> <token>...
// prints one JSON line per token: {"ok":true,...} or {"ok":false,"code":"PSYNC_S21xx","message":...}
import * as jose from 'jose';
import { loadConfig } from './service-config.mjs';

const args = process.argv.slice(2);
let currentDate;
if (args[0] === '--at') {
  currentDate = new Date(Number(args[1]) * 1000);
  args.splice(0, 2);
}
const [configPath, envPath, ...tokens] = args;

const FAMILY = { RSA: /^RS/, oct: /^HS/, EC: /^ES/, OKP: /^EdDSA$/ };
const ALGS = ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

class AuthError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

// The service's KeySpec.matchesAlgorithm.
function matchesAlgorithm(jwk, alg) {
  if (jwk.alg) return alg === jwk.alg;
  return FAMILY[jwk.kty]?.test(alg) ?? false;
}

async function verify(token, config) {
  const auth = config.client_auth ?? {};
  const audiences = auth.audience ?? [];
  if (!Array.isArray(audiences)) throw new AuthError('CONFIG', 'audience must be a list');
  const keys = [];
  for (const jwk of auth.jwks?.keys ?? []) {
    keys.push({ jwk, key: await jose.importJWK(jwk), options: {} });
  }
  // RemoteJWKSCollector, after the static keys: each `jwks_uri` fetched (node's fetch
  // standing in for node-fetch), its `keys` imported except oct keys, keys whose `use` is
  // not `sig` and keys whose `key_ops` lacks `verify`.
  // A set that cannot be fetched adds no key: a token another key accepts still passes,
  // and one no key matches names the failure (as the key store's collected errors do).
  const uris = auth.jwks_uri == null ? [] : Array.isArray(auth.jwks_uri) ? auth.jwks_uri : [auth.jwks_uri];
  const fetchErrors = [];
  for (const uri of uris) {
    let set;
    try {
      const res = await fetch(uri, { signal: AbortSignal.timeout(30_000) });
      if (!res.ok) throw new Error(`status ${res.status}`);
      set = await res.json();
      if (!Array.isArray(set?.keys)) throw new Error('Invalid JWKS response');
    } catch (e) {
      fetchErrors.push(new AuthError('PSYNC_S2204', `JWKS request failed: ${e.message}`));
      continue;
    }
    for (const jwk of set.keys) {
      if (jwk.kty == 'oct') continue;
      if (jwk.use != null && jwk.use != 'sig') continue;
      if (jwk.key_ops != null && !jwk.key_ops.includes('verify')) continue;
      keys.push({ jwk, key: await jose.importJWK(jwk), options: {} });
    }
  }
  // Supabase legacy secret: a kid-less HS256 key from the raw text, aud `authenticated`, 7 d + 20 min.
  if (auth.supabase && auth.supabase_jwt_secret) {
    const jwk = { kty: 'oct', alg: 'HS256', k: Buffer.from(auth.supabase_jwt_secret, 'utf8').toString('base64url') };
    keys.push({ jwk, key: await jose.importJWK(jwk), options: { requiresAudience: ['authenticated'], maxLifetimeSeconds: 7 * 86400 + 1200 } });
  }
  // KeyStore.getCachedKey: the first key with the token's kid (its algorithm must match);
  // otherwise the first kid-less key of the algorithm whose signature matches.
  let used;
  async function getKey(header) {
    if (header.kid) {
      for (const k of keys) {
        if (k.jwk.kid == header.kid) {
          if (!matchesAlgorithm(k.jwk, header.alg)) throw new AuthError('PSYNC_S2101', `Unexpected token algorithm ${header.alg}`);
          used = k;
          return k.key;
        }
      }
    }
    for (const k of keys) {
      if (k.jwk.kid != null || !matchesAlgorithm(k.jwk, header.alg)) continue;
      try {
        await jose.compactVerify(token, k.key);
        used = k;
        return k.key;
      } catch (e) {
        if (e.code !== 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') throw e;
      }
    }
    if (fetchErrors.length) throw fetchErrors[0];
    throw new AuthError('PSYNC_S2101', 'Could not find an appropriate key in the keystore. The key is missing or no key matched the token KID');
  }
  let payload;
  try {
    ({ payload } = await jose.jwtVerify(token, getKey, { algorithms: ALGS, clockTolerance: 60, requiredClaims: ['sub', 'iat', 'exp'], currentDate }));
  } catch (e) {
    if (e instanceof AuthError) throw e;
    throw new AuthError(e.code === 'ERR_JWT_EXPIRED' ? 'PSYNC_S2103' : 'PSYNC_S2101', e.message);
  }
  // KeyStore.verifyJwt's own checks.
  const accepted = used.options.requiresAudience ?? audiences;
  let aud = payload.aud;
  if (aud == null) throw new AuthError('PSYNC_S2105', 'JWT payload is missing a required claim "aud"');
  if (!Array.isArray(aud)) aud = [aud];
  if (!aud.some((a) => accepted.includes(a))) throw new AuthError('PSYNC_S2105', `Unexpected "aud" claim value: ${JSON.stringify(payload.aud)}`);
  const lifetime = payload.exp - payload.iat;
  const maxAge = used.options.maxLifetimeSeconds ?? 86400;
  if (lifetime > maxAge) throw new AuthError('PSYNC_S2104', `Token must expire in a maximum of ${maxAge} seconds, got ${lifetime}s`);
  const parameters = payload.parameters;
  if (parameters != null && (Array.isArray(parameters) || typeof parameters != 'object')) {
    throw new AuthError('PSYNC_S2101', 'Payload parameters must be an object');
  }
  const header = jose.decodeProtectedHeader(token);
  return { sub: payload.sub, kid: header.kid, alg: header.alg };
}

let config;
try {
  config = await loadConfig(configPath, envPath);
} catch (e) {
  console.log(JSON.stringify({ ok: false, code: 'CONFIG', message: e.message }));
  process.exit(2);
}
for (const token of tokens) {
  try {
    const r = await verify(token, config);
    console.log(JSON.stringify({ ok: true, ...r }));
  } catch (e) {
    console.log(JSON.stringify({ ok: false, code: e.code ?? 'ERROR', message: e.message }));
  }
}
