// The WebSocket connection: status, reconnection with jittered backoff,
// token renewal before expiry, the inbox after each connect and a keep-alive
// ping. It knows the protocol's frames, not the game.

const OPEN_TIMEOUT_MS = 10000;
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 30000;
const REFUSALS_BEFORE_GIVING_UP = 3;
const MAX_OUTBOX = 50;
const MAX_FRAME_CHARS = 200000; // the gateway closes anything over 128 KB anyway

// renewLead is how long before its expiry a token is renewed: a minute, or a
// quarter of a shorter lifetime (at least a second).
export const renewLead = (s) => Math.min(60000, Math.max(1000, (s.expiresAt - (s.issuedAt || 0)) / 4));

// backoff is "full jitter": a random delay up to an exponentially growing cap.
export const backoff = (attempt, rand = Math.random) =>
  Math.max(250, Math.floor(rand() * Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** attempt)));

export class Connection {
  // hooks: onStatus(status, detail), onFrame(frame), onOpen(), onSignedOut(reason), onSession(s)
  // pingMs: the keep-alive period; API Gateway closes connections idle for 10 minutes.
  constructor({ url, auth, session, hooks, pingMs = 4 * 60 * 1000 }) {
    this.url = url;
    this.pingMs = pingMs;
    this.auth = auth;
    this.session = session;
    this.hooks = hooks;
    this.ws = null;
    this.attempt = 0;
    this.refusals = 0;
    this.freshTokenTried = false; // since the last open: a new dev token after refusals
    this.seq = 0;
    this.outbox = [];
    this.stopped = false;
    this.ban = null; // the reason of a `banned` frame, kept for a refused reconnect
  }

  nextId(prefix = 'c') { this.seq += 1; return `${prefix}-${this.seq}`; }

  start() {
    this.stopped = false;
    // A socket does not notice a lost network for a long time; the browser
    // does: drop the socket at once and open a new one when it is back.
    this.onOffline = () => {
      if (this.stopped || !this.ws) return;
      const ws = this.ws;
      this.ws = null;
      ws.onclose = null;
      ws.close();
      clearInterval(this.pingTimer);
      clearTimeout(this.renewTimer);
      this.reconnect();
    };
    window.addEventListener('offline', this.onOffline);
    this.open(false);
  }

  stop() {
    this.stopped = true;
    window.removeEventListener('offline', this.onOffline);
    clearTimeout(this.retryTimer);
    clearTimeout(this.renewTimer);
    clearInterval(this.pingTimer);
    if (this.ws) { this.ws.onclose = null; this.ws.close(1000); this.ws = null; }
    this.hooks.onStatus('offline');
  }

  // send writes a frame now, or keeps it until the connection is open again.
  send(frame) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(frame));
      return true;
    }
    if (this.outbox.length < MAX_OUTBOX) this.outbox.push(frame);
    return false;
  }

  get online() { return !!this.ws && this.ws.readyState === WebSocket.OPEN; }

  async open(again) {
    if (this.stopped) return;
    this.hooks.onStatus(again ? 'reconnecting' : 'connecting');
    if (this.session.expiresAt - Date.now() < renewLead(this.session)) {
      try {
        this.session = await this.auth.refresh(this.session);
        this.hooks.onSession(this.session);
      } catch (e) {
        if (!navigator.onLine) this.reconnect(); // renew when the network is back
        else this.signOut(`your sign-in expired (${e.message}): sign in again`);
        return;
      }
    }
    if (this.stopped) return;
    const u = new URL(this.url);
    u.searchParams.set('token', this.session.token);
    const ws = new WebSocket(u.href);
    this.ws = ws;
    let opened = false;
    const openTimer = setTimeout(() => { if (!opened) ws.close(); }, OPEN_TIMEOUT_MS);
    ws.onopen = () => {
      opened = true;
      clearTimeout(openTimer);
      this.attempt = 0;
      this.refusals = 0;
      this.freshTokenTried = false;
      this.hooks.onStatus('online');
      this.scheduleRenewal();
      clearInterval(this.pingTimer);
      this.pingTimer = setInterval(() => this.send({ action: 'ping', id: this.nextId('p') }), this.pingMs);
      this.send({ action: 'inbox', id: this.nextId('i') });
      const waiting = this.outbox.splice(0);
      waiting.forEach((f) => this.send(f));
      this.hooks.onOpen();
    };
    ws.onmessage = (ev) => this.receive(ev.data);
    ws.onclose = (ev) => {
      clearTimeout(openTimer);
      clearInterval(this.pingTimer);
      clearTimeout(this.renewTimer);
      if (this.ws !== ws) return;
      this.ws = null;
      this.closed(opened, ev.code);
    };
  }

  receive(data) {
    if (typeof data !== 'string' || data.length > MAX_FRAME_CHARS) return;
    let f;
    try { f = JSON.parse(data); } catch { return; }
    if (f === null || typeof f !== 'object' || Array.isArray(f) || typeof f.type !== 'string') return;
    if (f.type === 'error' && f.code === 'token_expired') {
      this.signOut('your token expired: sign in again');
      return;
    }
    if (f.type === 'error' && f.code === 'banned') {
      this.ban = { reason: typeof f.message === 'string' ? f.message.slice(0, 500) : '', until: typeof f.until === 'string' ? f.until : '' };
    }
    this.hooks.onFrame(f);
  }

  async closed(opened, code) {
    if (this.stopped) return;
    if (opened) {
      this.reconnect();
      return;
    }
    // The upgrade failed. A browser does not say why; a 403 (refused token,
    // ban, too many connections) and an unreachable server look alike. A
    // ban we were told of, or a server that answers HTTP while refusing
    // the WebSocket again and again, means sign in again.
    if (this.ban) {
      const until = this.ban.until ? ` until ${this.ban.until}` : '';
      this.signOut(`refused: banned (${this.ban.reason || 'no reason given'})${until}`);
      return;
    }
    this.refusals += 1;
    if (this.refusals >= REFUSALS_BEFORE_GIVING_UP && await this.serverAnswers()) {
      if (this.auth.mode === 'dev' && !this.freshTokenTried) {
        // A restarted local stack signs with a new key and refuses the
        // old token: a new development token is all it takes.
        this.freshTokenTried = true;
        try {
          this.session = await this.auth.refresh(this.session);
          this.hooks.onSession(this.session);
          this.refusals = 0;
          this.reconnect(code);
          return;
        } catch { /* the issuer refuses too: sign in again */ }
      }
      this.signOut('refused: the server turned the connection down (403): sign in again');
      return;
    }
    this.reconnect(code);
  }

  async serverAnswers() {
    try {
      const r = await fetch(new URL('config.json', location.href), { cache: 'no-store', signal: AbortSignal.timeout(5000) });
      return r.ok;
    } catch {
      return false;
    }
  }

  reconnect() {
    if (this.stopped) return;
    if (!navigator.onLine) {
      // The browser has no network: say so, and try again when it is back.
      this.hooks.onStatus('offline');
      window.addEventListener('online', () => this.reconnect(), { once: true });
      return;
    }
    const delay = backoff(this.attempt);
    this.attempt += 1;
    this.hooks.onStatus('reconnecting', delay);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.open(true), delay);
  }

  // scheduleRenewal replaces the connection with one on a fresh token before
  // the token expires: the server ends a connection's authority with its token.
  scheduleRenewal() {
    clearTimeout(this.renewTimer);
    const wait = Math.max(0, this.session.expiresAt - Date.now() - renewLead(this.session));
    this.renewTimer = setTimeout(() => {
      if (this.ws) this.ws.close(1000);
    }, Math.min(wait, 2 ** 31 - 1));
  }

  signOut(reason) {
    this.stop();
    this.hooks.onSignedOut(reason);
  }
}
