// The admin panel: look up a player, kick, ban and lift a ban through the
// admin API (config.json "adminApiUrl", this page's origin when empty). The
// API checks the token's admin group; the panel is shown only to spare
// other players a panel that would answer 403.

import { validPlayerId } from './game.js';

const TIMEOUT_MS = 10000;

export class AdminPanel {
  constructor(config, token, $) {
    this.base = new URL(config.adminApiUrl || '.', location.href).href.replace(/\/?$/, '/');
    this.token = token;
    this.$ = $;
    if (AdminPanel.wired) return;
    AdminPanel.wired = true;
    $('admin-form').addEventListener('submit', (ev) => { ev.preventDefault(); this.lookup(); });
    $('admin-kick').addEventListener('click', () => this.act('DELETE', (p) => `admin/players/${p}/connections`, 'kick'));
    $('admin-ban').addEventListener('click', () => {
      const reason = $('admin-reason').value.trim() || 'no reason given';
      const body = { reason };
      const secs = Number($('admin-duration').value);
      if (secs > 0) body.durationSeconds = secs;
      this.act('POST', (p) => `admin/players/${p}/ban`, 'ban', body);
    });
    $('admin-unban').addEventListener('click', () => this.act('DELETE', (p) => `admin/players/${p}/ban`, 'lift ban'));
  }

  player() {
    const p = this.$('admin-player-input').value.trim();
    if (!validPlayerId(p)) {
      this.show('a player id is 1 to 128 letters, digits or _ - . @ +');
      return null;
    }
    return encodeURIComponent(p);
  }

  show(text) { this.$('admin-result').textContent = text; }

  async call(method, path, body) {
    const headers = { Authorization: `Bearer ${this.token()}` };
    if (body) headers['Content-Type'] = 'application/json';
    let res;
    try {
      res = await fetch(this.base + path, {
        method, headers, body: body ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(TIMEOUT_MS), credentials: 'omit', cache: 'no-store',
      });
    } catch (e) {
      throw new Error(e.name === 'TimeoutError' ? 'the admin API did not answer in time' : 'the admin API is unreachable');
    }
    let data = null;
    try { data = await res.json(); } catch { /* handled below */ }
    if (!res.ok) {
      const code = data && typeof data.code === 'string' ? data.code : res.status;
      const msg = data && typeof data.message === 'string' ? `: ${data.message.slice(0, 300)}` : '';
      throw new Error(`${res.status} ${code}${msg}`);
    }
    return data || {};
  }

  async lookup() {
    const p = this.player();
    if (!p) return;
    try {
      this.show(describe(await this.call('GET', `admin/players/${p}`)));
    } catch (e) {
      this.show(`look-up failed: ${e.message}`);
    }
  }

  async act(method, path, what, body) {
    const p = this.player();
    if (!p) return;
    try {
      const r = await this.call(method, path(p), body);
      const parts = [`${what}: done`];
      if (Number.isInteger(r.closed)) parts.push(`${r.closed} connection(s) closed`);
      if (r.ban && typeof r.ban === 'object') parts.push(`banned: ${str(r.ban.reason)}${r.ban.until ? ` until ${str(r.ban.until)}` : ' until lifted'}`);
      if (typeof r.lifted === 'boolean') parts.push(r.lifted ? 'ban lifted' : 'no ban was in force');
      this.show(parts.join('\n'));
    } catch (e) {
      this.show(`${what} failed: ${e.message}`);
    }
  }
}

const str = (v) => (typeof v === 'string' ? v.slice(0, 300) : '');

function describe(r) {
  const lines = [`player ${str(r.playerId)}: ${r.online ? 'online' : 'offline'}`];
  const conns = Array.isArray(r.connections) ? r.connections.slice(0, 20) : [];
  conns.forEach((c) => {
    if (c && typeof c === 'object') lines.push(`  connection ${str(c.connectionId)} since ${str(c.connectedAt)} from ${str(c.sourceIp)} (${str(c.userAgent).slice(0, 80)})`);
  });
  if (r.ban && typeof r.ban === 'object') {
    lines.push(`banned by ${str(r.ban.bannedBy)} at ${str(r.ban.bannedAt)}: ${str(r.ban.reason)}${r.ban.until ? ` until ${str(r.ban.until)}` : ' until lifted'}`);
  } else {
    lines.push('not banned');
  }
  return lines.join('\n');
}
