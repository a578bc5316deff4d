// Unit tests of the web client's sign-in requests, run by node against a
// small HTTP server that answers as Cognito's InitiateAuth and the local
// stack's /dev/token do.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';

let server;
let base;
const seen = [];
const answers = []; // what the server answers next, in order: [status, body]

before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      seen.push({ url: req.url, headers: req.headers, body: JSON.parse(body) });
      const [status, out] = answers.shift();
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(out));
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${server.address().port}/`;
  globalThis.location = new URL(base);
});

after(() => server.close());

const jwt = (claims) => `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;

test('cognito: USER_PASSWORD_AUTH signs in, REFRESH_TOKEN_AUTH renews', async () => {
  const { Auth } = await import('../../web/js/auth.js');
  const auth = new Auth({ auth: 'cognito', cognito: { region: 'eu-west-1', clientId: 'client-1', endpoint: base } });
  assert.equal(auth.needsPassword, true);

  const access = jwt({ username: 'alice', sub: 'uuid-1', 'cognito:groups': ['admin', 7] });
  answers.push([200, { AuthenticationResult: { AccessToken: access, ExpiresIn: 3600, RefreshToken: 'r-1', TokenType: 'Bearer' } }]);
  const s = await auth.signIn('alice', 'Correct-Horse-42', false);
  const req = seen.at(-1);
  assert.equal(req.headers['x-amz-target'], 'AWSCognitoIdentityProviderService.InitiateAuth');
  assert.equal(req.headers['content-type'], 'application/x-amz-json-1.1');
  assert.deepEqual(req.body, { AuthFlow: 'USER_PASSWORD_AUTH', ClientId: 'client-1', AuthParameters: { USERNAME: 'alice', PASSWORD: 'Correct-Horse-42' } });
  assert.equal(s.playerId, 'alice', 'the username claim, as PLAYER_ID_CLAIM=username');
  assert.deepEqual(s.groups, ['admin'], 'only string groups');
  assert.equal(s.refreshToken, 'r-1');
  assert.ok(Math.abs(s.expiresAt - s.issuedAt - 3600000) < 1000);

  answers.push([200, { AuthenticationResult: { AccessToken: jwt({ username: 'alice' }), ExpiresIn: 600 } }]);
  const r = await auth.refresh(s);
  assert.deepEqual(seen.at(-1).body, { AuthFlow: 'REFRESH_TOKEN_AUTH', ClientId: 'client-1', AuthParameters: { REFRESH_TOKEN: 'r-1' } });
  assert.equal(r.refreshToken, 'r-1', 'Cognito sends no new refresh token: the old one is kept');
  assert.equal(r.playerId, 'alice');
});

test('cognito: refusals and challenges are told, not thrown as TypeErrors', async () => {
  const { Auth } = await import('../../web/js/auth.js');
  const auth = new Auth({ auth: 'cognito', cognito: { region: 'eu-west-1', clientId: 'client-1', endpoint: base } });
  answers.push([400, { __type: 'NotAuthorizedException', message: 'Incorrect username or password.' }]);
  await assert.rejects(auth.signIn('alice', 'wrong', false), { message: 'sign-in refused: Incorrect username or password.' });
  answers.push([200, { ChallengeName: 'NEW_PASSWORD_REQUIRED', Session: 's' }]);
  await assert.rejects(auth.signIn('alice', 'temp', false), { message: 'sign-in needs a step this page does not do (NEW_PASSWORD_REQUIRED)' });
  await assert.rejects(new Auth({ auth: 'cognito' }).signIn('alice', 'x', false), /config.json lacks cognito.region or cognito.clientId/);
  await assert.rejects(auth.refresh({ playerId: 'alice', groups: [] }), /no refresh token/);
});

test('dev: /dev/token with the admin group when asked', async () => {
  const { Auth } = await import('../../web/js/auth.js');
  const auth = new Auth({ auth: 'dev' });
  assert.equal(auth.needsPassword, false);
  answers.push([200, { token: jwt({ sub: 'root', 'cognito:groups': ['admin'] }), expiresAt: 2000000000 }]);
  const s = await auth.signIn('root', '', true);
  assert.equal(seen.at(-1).url, '/dev/token');
  assert.deepEqual(seen.at(-1).body, { playerId: 'root', groups: ['admin'] });
  assert.equal(s.playerId, 'root');
  assert.equal(s.expiresAt, 2000000000 * 1000);
  answers.push([400, { error: 'invalid token request: playerId: bad' }]);
  await assert.rejects(auth.signIn('x', '', false), { message: 'sign-in refused: invalid token request: playerId: bad' });
});

test('the session names the player by the stack\'s claim, in the server\'s lower case', async () => {
  const { Auth } = await import('../../web/js/auth.js');
  const token = jwt({ username: 'Alice', sub: 'Uuid-1' });
  assert.equal(new Auth({ auth: 'cognito', cognito: {} }).session(token, 0).playerId, 'alice');
  assert.equal(new Auth({ auth: 'cognito', cognito: {}, playerIdClaim: 'sub' }).session(token, 0).playerId, 'uuid-1');
});
