// The baseline of benches/serve: what the PowerSync self-host demo backend
// (powersync-ja/powersync-nodejs-backend-todolist-demo, src/api/auth.js) does, with express
// and jose, signing with the key pskeys wrote so that `pskeys verify` accepts its tokens.
//
// One difference, in the baseline's favour: the demo imports the private key on every
// request (`importJWK` inside the handler); here it is imported once at startup.
//
// Usage:
//   pskeys export --format json > keys.json      # in the project folder
//   node server.mjs --keys keys.json [--port 7070] [--host 127.0.0.1] [--cluster N]
// Without --keys the variables are read from the environment (PSKEYS_PRIVATE_KEY,
// PSKEYS_KID, PSKEYS_ALG, PS_CLIENT_AUTH_KEY), as after `set -a; . ./.env`.
// PORT, HOST, CLUSTER and POWERSYNC_URL may be given as environment variables too.

import cluster from 'node:cluster';
import { createPrivateKey, createPublicKey, createSecretKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import express from 'express';
import { SignJWT, exportJWK } from 'jose';

const { values: args } = parseArgs({
  options: {
    keys: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    cluster: { type: 'string' },
  },
});

const env = args.keys ? { ...process.env, ...JSON.parse(readFileSync(args.keys, 'utf8')) } : process.env;
const port = Number(args.port ?? env.PORT ?? 7070);
const host = args.host ?? env.HOST ?? '127.0.0.1';
const workers = Number(args.cluster ?? env.CLUSTER ?? 0);
const powersyncUrl = env.POWERSYNC_URL ?? 'http://localhost:8080';
const kid = env.PSKEYS_KID;
const alg = env.PSKEYS_ALG;
const audience = ['powersync-dev', 'powersync'];

function fail(message) {
  console.error(`baseline: ${message}`);
  process.exit(2);
}

if (!kid || !alg) fail('PSKEYS_KID and PSKEYS_ALG are required (pass --keys FILE from `pskeys export --format json`)');

// The signing key, imported once; the JWKS, built once (secrets are never published, as
// pskeys serve does: an HMAC project's JWKS is empty).
let signingKey;
let jwks;
if (alg.startsWith('HS')) {
  if (!env.PS_CLIENT_AUTH_KEY) fail('PS_CLIENT_AUTH_KEY (the base64url HMAC secret) is missing');
  signingKey = createSecretKey(Buffer.from(env.PS_CLIENT_AUTH_KEY, 'base64url'));
  jwks = { keys: [] };
} else {
  if (!env.PSKEYS_PRIVATE_KEY) fail('PSKEYS_PRIVATE_KEY (a PKCS#8 PEM) is missing');
  const pem = env.PSKEYS_PRIVATE_KEY.replace(/\\n/g, '\n');
  signingKey = createPrivateKey(pem);
  const publicJwk = await exportJWK(createPublicKey(signingKey));
  jwks = { keys: [{ ...publicJwk, alg, kid, use: 'sig' }] };
}

function app() {
  const a = express();

  // GET /api/auth/token?user_id=ID: as the demo's handler, with the user id as `sub` and
  // pskeys' audiences and 12 h lifetime.
  a.get('/api/auth/token', async (req, res, next) => {
    try {
      const userId = req.query.user_id;
      if (typeof userId !== 'string' || userId === '') {
        res.status(400).send({ error: 'user_id is required' });
        return;
      }
      const token = await new SignJWT({})
        .setProtectedHeader({ alg, kid })
        .setSubject(userId)
        .setIssuedAt()
        .setAudience(audience)
        .setExpirationTime('12h')
        .sign(signingKey);
      res.send({ token, powersync_url: powersyncUrl });
    } catch (e) {
      next(e);
    }
  });

  // The JWKS, at the demo's path and the well-known one.
  const keys = (req, res) => res.send(jwks);
  a.get('/api/auth/keys', keys);
  a.get('/.well-known/jwks.json', keys);
  return a;
}

if (workers > 1 && cluster.isPrimary) {
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on('exit', (w, code, signal) => {
    console.error(`baseline: worker ${w.process.pid} exited (${signal ?? code})`);
  });
  const stop = () => {
    for (const w of Object.values(cluster.workers)) w.process.kill('SIGTERM');
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  console.error(`baseline: ${workers} workers on http://${host}:${port} (${alg}, kid ${kid})`);
} else {
  const server = app().listen(port, host, () => {
    if (!cluster.isWorker) console.error(`baseline: listening on http://${host}:${port} (${alg}, kid ${kid})`);
  });
  server.on('error', (e) => fail(e.message));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}
