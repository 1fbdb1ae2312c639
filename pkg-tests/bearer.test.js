'use strict';
// HistoryClient's `bearer` option (issue 25): `Authorization: Bearer <JWT>`
// from a sign-in provider, against the real server with --jwt-jwks (a key
// this test makes), and a static token sent as a bearer token.
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { kg } = require('./support/kg');
const { startServer, TOKENS, USERS } = require('./support/server');
const { fast, graph } = require('./support/history');

const ISSUER = 'https://id.example.test/realms/kg';
const AUDIENCE = 'kg-approval';
const b64url = (data) => Buffer.from(data).toString('base64url');

/** An ES256 JWT of `claims` signed with `key` (kid `kid`). */
function sign(key, kid, claims) {
  const head = b64url(JSON.stringify({ alg: 'ES256', typ: 'JWT', kid }));
  const body = b64url(JSON.stringify(claims));
  const signature = crypto.sign('sha256', Buffer.from(`${head}.${body}`), { key, dsaEncoding: 'ieee-p1363' });
  return `${head}.${body}.${b64url(signature)}`;
}

let server;
let key;
let jwksDir;
test.before(async () => {
  const pair = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  key = pair.privateKey;
  jwksDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kg-jwks-'));
  const jwks = path.join(jwksDir, 'jwks.json');
  fs.writeFileSync(jwks, JSON.stringify({ keys: [{ ...pair.publicKey.export({ format: 'jwk' }), kid: 'k1', use: 'sig' }] }));
  server = await startServer(['--jwt-jwks', jwks, '--jwt-issuer', ISSUER, '--jwt-audience', AUDIENCE]);
});
test.after(async () => {
  await server?.close();
  if (jwksDir) fs.rmSync(jwksDir, { recursive: true, force: true });
});

test('a client given a bearer JWT saves as the token\'s user', async () => {
  const now = Math.floor(Date.now() / 1000);
  const jwt = sign(key, 'k1', { iss: ISSUER, aud: AUDIENCE, exp: now + 300, email: 'dora@example.com', scope: 'openid read write' });
  const client = new kg.HistoryClient({ baseUrl: server.url, bearer: jwt, ...fast });
  const graphId = crypto.randomUUID();
  const session = new kg.ApprovalSession(graph(), { graphId });
  session.propose({ metadata: { description: 'first' } }, { source: 'import' });
  const saved = await client.save(session.approve({ user: 'dora@example.com' }));
  assert.equal(saved.newVersion, 1);
  const history = await client.history(graphId);
  assert.equal(history[0].user, 'dora@example.com');

  // An expired token is refused: the client reports the 401.
  const expired = sign(key, 'k1', { iss: ISSUER, aud: AUDIENCE, exp: now - 600, email: 'dora@example.com', scope: 'write' });
  const stale = new kg.HistoryClient({ baseUrl: server.url, bearer: expired, ...fast });
  const again = new kg.ApprovalSession(graph(), { graphId: crypto.randomUUID() });
  again.propose({ metadata: { description: 'first' } });
  await assert.rejects(stale.save(again.approve({ user: 'dora@example.com' })), (e) => e.status === 401 || /401/.test(e.message));
});

test('a static token works as a bearer token too; token and bearer together are refused', async () => {
  const client = new kg.HistoryClient({ baseUrl: server.url, bearer: TOKENS.ann, ...fast });
  const graphId = crypto.randomUUID();
  const session = new kg.ApprovalSession(graph(), { graphId });
  session.propose({ metadata: { description: 'first' } });
  assert.equal((await client.save(session.approve({ user: USERS.ann }))).newVersion, 1);
  assert.throws(() => new kg.HistoryClient({ baseUrl: server.url, token: TOKENS.ann, bearer: TOKENS.ann }), (e) => e.code === 'invalid_argument');
});
