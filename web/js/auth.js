// Signing in. Two modes, chosen by config.json's "auth":
//   dev      the local stack's development issuer: POST /dev/token;
//   cognito  Amazon Cognito's InitiateAuth over fetch (no SDK):
//            USER_PASSWORD_AUTH to sign in, REFRESH_TOKEN_AUTH to renew.
// A session is {playerId, token, issuedAt and expiresAt (ms), refreshToken?, groups}.
// Tokens live in sessionStorage (this tab only) and are never logged.

import { validPlayerId, canonicalId } from './game.js';

const TIMEOUT_MS = 10000;
const KEY = 'sws.session';

// claims reads a JWT's payload for display; the server alone verifies it.
export function claims(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const json = new TextDecoder().decode(Uint8Array.from(atob(part), (c) => c.charCodeAt(0)));
    const c = JSON.parse(json);
    return c && typeof c === 'object' ? c : {};
  } catch {
    return {};
  }
}

function groupsOf(c) {
  const g = c['cognito:groups'];
  return Array.isArray(g) ? g.filter((x) => typeof x === 'string') : [];
}

export function loadSession() {
  try {
    const s = JSON.parse(sessionStorage.getItem(KEY) || 'null');
    if (s && validPlayerId(s.playerId) && typeof s.token === 'string' && Number.isFinite(s.expiresAt)) return s;
  } catch { /* a damaged entry is the same as none */ }
  return null;
}

export function saveSession(s) {
  if (s) sessionStorage.setItem(KEY, JSON.stringify(s));
  else sessionStorage.removeItem(KEY);
}

async function postJSON(url, body, headers) {
  let res;
  try {
    res = await fetch(url, {
      method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(TIMEOUT_MS),
      credentials: 'omit', cache: 'no-store',
    });
  } catch (e) {
    throw new Error(e.name === 'TimeoutError' ? 'the sign-in service did not answer in time' : 'the sign-in service is unreachable');
  }
  let data = {};
  try { data = await res.json(); } catch { /* not JSON: handled below */ }
  return { ok: res.ok, status: res.status, data };
}

export class Auth {
  constructor(config) {
    this.mode = config.auth === 'cognito' ? 'cognito' : 'dev';
    this.cognito = config.cognito || {};
    this.devTokenUrl = new URL(config.devTokenUrl || 'dev/token', location.href).href;
    // The claim the stack's authorizer reads the player id from
    // (PLAYER_ID_CLAIM); the page must name players as the server does.
    this.playerIdClaim = typeof config.playerIdClaim === 'string' ? config.playerIdClaim : 'username';
  }

  get needsPassword() { return this.mode === 'cognito'; }

  async signIn(name, password, admin) {
    if (this.mode === 'dev') {
      const body = { playerId: name };
      if (admin) body.groups = ['admin'];
      const r = await postJSON(this.devTokenUrl, body, { 'Content-Type': 'application/json' });
      if (!r.ok || typeof r.data.token !== 'string') throw new Error(`sign-in refused: ${r.data.error || r.status}`);
      return this.session(r.data.token, r.data.expiresAt * 1000, null, name);
    }
    const res = await this.initiateAuth('USER_PASSWORD_AUTH', { USERNAME: name, PASSWORD: password });
    return this.session(res.AccessToken, Date.now() + res.ExpiresIn * 1000, res.RefreshToken, name);
  }

  // refresh renews the session's token: REFRESH_TOKEN_AUTH with Cognito,
  // a new development token otherwise.
  async refresh(s) {
    if (this.mode === 'dev') return this.signIn(s.playerId, '', s.groups.includes('admin'));
    if (!s.refreshToken) throw new Error('no refresh token: sign in again');
    const res = await this.initiateAuth('REFRESH_TOKEN_AUTH', { REFRESH_TOKEN: s.refreshToken });
    return this.session(res.AccessToken, Date.now() + res.ExpiresIn * 1000, res.RefreshToken || s.refreshToken, s.playerId);
  }

  async initiateAuth(flow, params) {
    const { region, clientId } = this.cognito;
    if (!region || !clientId) throw new Error('config.json lacks cognito.region or cognito.clientId');
    const url = this.cognito.endpoint || `https://cognito-idp.${region}.amazonaws.com/`;
    const r = await postJSON(url, { AuthFlow: flow, ClientId: clientId, AuthParameters: params }, {
      'Content-Type': 'application/x-amz-json-1.1',
      'X-Amz-Target': 'AWSCognitoIdentityProviderService.InitiateAuth',
    });
    if (!r.ok) throw new Error(`sign-in refused: ${String(r.data.message || r.data.__type || r.status).slice(0, 200)}`);
    const res = r.data.AuthenticationResult;
    if (!res || typeof res.AccessToken !== 'string') {
      throw new Error(`sign-in needs a step this page does not do (${String(r.data.ChallengeName || 'unknown').slice(0, 60)})`);
    }
    return res;
  }

  session(token, expiresAt, refreshToken, name) {
    const c = claims(token);
    const id = [c[this.playerIdClaim], c.username, c['cognito:username'], c.sub, name].find(validPlayerId);
    return { playerId: id && canonicalId(id), token, issuedAt: Date.now(), expiresAt, refreshToken, groups: groupsOf(c) };
  }
}
