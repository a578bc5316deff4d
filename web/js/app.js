// The page: sign-in, lobby, the game, chat and the backend's answers. Text
// from the network is only ever set with textContent.

import { Auth, loadSession, saveSession } from './auth.js';
import { Connection } from './conn.js';
import { AdminPanel } from './admin.js';
import {
  boardOf, legalNext, markOf, myMark, myTurn, newGame, newGameId, outcome, parseGameMessage, playerOf,
  receiveMoves, validPlayerId, canonicalId, textOf, MAX_CHAT,
} from './game.js';

const $ = (id) => document.getElementById(id);
const PRESENCE_MS = 4000;
const MAX_LOG = 200;

const state = {
  auth: null, conn: null, session: null, config: null,
  game: null, // {id, me, opp, x, moves}
  outgoing: null, // {to, game, x}: the invitation we sent
  incoming: null, // {from, game, x, rematch}: the invitation we were sent
  pending: new Map(), // frame id -> what it carried
  oppOnline: null,
};

// ---- small views ----

function setStatus(s) {
  $('status').textContent = s;
  document.body.dataset.status = s;
}

let noticeTimer = null;
function notice(text, info = false) {
  clearInterval(noticeTimer);
  $('notice').textContent = text;
  $('notice').classList.toggle('info', info);
}

function countdown(code, ms) {
  clearInterval(noticeTimer);
  const end = Date.now() + ms;
  const tick = () => {
    const left = end - Date.now();
    if (left <= 0) {
      clearInterval(noticeTimer);
      $('notice').textContent = `${code}: you can send again`;
      return;
    }
    $('notice').textContent = `${code}: you can send again in ${(Math.ceil(left / 100) / 10).toFixed(1)} s`;
  };
  $('notice').classList.remove('info');
  tick();
  noticeTimer = setInterval(tick, 100);
}

// chatLine adds one entry to the chat log: a line from a player, its sender
// set apart from the text (which is one line, whatever it holds), or, with
// from null, a line of the page's own.
function chatLine(from, text, cls = '') {
  const li = document.createElement('li');
  if (from) {
    const who = document.createElement('b');
    who.className = 'who';
    who.textContent = from;
    const said = document.createElement('span');
    said.className = 'said';
    said.textContent = textOf(text, MAX_CHAT);
    li.append(who, ': ', said);
  } else {
    li.textContent = text;
  }
  if (cls) li.className = cls;
  const log = $('chat-log');
  log.append(li);
  while (log.children.length > MAX_LOG) log.firstElementChild.remove();
  log.scrollTop = log.scrollHeight;
}

// ---- the game ----

const gameKey = () => `sws.game.${state.session.playerId}`;

function saveGame() {
  if (state.game) localStorage.setItem(gameKey(), JSON.stringify(state.game));
  else localStorage.removeItem(gameKey());
}

function loadGame() {
  try {
    const g = JSON.parse(localStorage.getItem(gameKey()) || 'null');
    if (g && g.me === state.session.playerId && validPlayerId(g.opp) && typeof g.id === 'string'
        && (g.x === g.me || g.x === g.opp) && Array.isArray(g.moves) && g.moves.length <= 9
        && g.moves.every((c, i) => legalNext(g.moves.slice(0, i), c) === '')) {
      return g;
    }
  } catch { /* a damaged entry is the same as none */ }
  return null;
}

function renderGame() {
  const g = state.game;
  const board = g ? boardOf(g.moves) : Array(9).fill('');
  const out = g ? outcome(g.moves) : null;
  const canMove = !!g && myTurn(g);
  document.querySelectorAll('#board button').forEach((b) => {
    const i = Number(b.dataset.cell);
    b.textContent = board[i];
    b.className = board[i].toLowerCase();
    if (out && out.line && out.line.includes(i)) b.classList.add('win');
    b.disabled = !canMove || board[i] !== '';
    b.setAttribute('aria-label', `row ${Math.floor(i / 3) + 1} column ${(i % 3) + 1}, ${board[i] || 'empty'}`);
  });
  if (!g) {
    $('game-h').firstChild.textContent = 'Game ';
    $('turn').textContent = 'no game yet: challenge someone';
    $('result').textContent = '';
    $('rematch').disabled = true;
    $('opp-status').textContent = '';
    return;
  }
  $('game-h').firstChild.textContent = `Game: you (${myMark(g)}) against ${g.opp} `;
  if (out) $('turn').textContent = 'game over';
  else if (canMove) $('turn').textContent = `your turn (${myMark(g)})`;
  else $('turn').textContent = `${g.opp}'s turn (${markOf(g.moves.length)})`;
  $('result').textContent = !out ? '' : out.draw ? 'draw' : `${playerOf(g, out.winner)} wins (${out.winner})`;
  $('rematch').disabled = !out;
  renderOpp();
}

function renderOpp() {
  const el = $('opp-status');
  if (!state.game || state.oppOnline === null) { el.textContent = ''; return; }
  el.textContent = state.oppOnline ? `${state.game.opp} is online` : `${state.game.opp} is offline`;
  el.classList.toggle('offline', !state.oppOnline);
}

function startGame(g) {
  state.game = g;
  state.outgoing = null;
  state.oppOnline = null;
  saveGame();
  $('move-status').textContent = '';
  renderGame();
  pollPresence();
}

// sendTo sends a game message and remembers what it was for its answer.
function sendTo(to, message, what) {
  const id = state.conn.nextId();
  state.pending.set(id, { what, to, message });
  if (state.pending.size > 500) state.pending.delete(state.pending.keys().next().value);
  state.conn.send({ action: 'sendmessage', to, message, id });
  return id;
}

function sendMoves(sync = false) {
  const g = state.game;
  sendTo(g.opp, { ttt: 1, kind: 'move', game: g.id, moves: g.moves }, sync ? 'sync' : `move ${g.moves.length}`);
}

function play(cell) {
  const g = state.game;
  if (!g) return;
  if (!myTurn(g)) { notice('not your turn'); return; }
  const why = legalNext(g.moves, cell);
  if (why) { notice(why); return; }
  g.moves = [...g.moves, cell];
  saveGame();
  renderGame();
  $('move-status').textContent = `move ${g.moves.length}: sending…`;
  sendMoves();
  const next = document.querySelector('#board button:not(:disabled)') || $('rematch');
  if (document.activeElement && document.activeElement.disabled) next.focus();
}

function receiveGame(from, m) {
  const g = state.game;
  switch (m.kind) {
    case 'invite':
      if (from === state.session.playerId || (g && g.id === m.game)) return;
      if (m.x !== from && m.x !== state.session.playerId) { notice(`ignored an invitation from ${from} naming a third player`); return; }
      state.incoming = { from, game: m.game, x: m.x };
      $('invite-text').textContent = `${from} ${m.rematch ? 'asks for a rematch' : 'challenges you'}: ${m.x === from ? from : 'you'} play${m.x === from ? 's' : ''} X and open${m.x === from ? 's' : ''}`;
      $('invite').hidden = false; // announced by its live region; focus stays where the player is
      return;
    case 'accept':
      if (!state.outgoing || state.outgoing.game !== m.game || state.outgoing.to !== from) {
        notice(`ignored an acceptance from ${from} that answers no invitation`);
        return;
      }
      chatLine(null, `${from} accepted`, 'sys');
      startGame(newGame(m.game, state.session.playerId, from, state.outgoing.x));
      return;
    case 'decline':
      if (state.outgoing && state.outgoing.game === m.game && state.outgoing.to === from) {
        state.outgoing = null;
        notice(`${from} declined`, true);
      }
      return;
    case 'move': {
      if (!g || g.id !== m.game || g.opp !== from) { notice(`ignored a move from ${from} for another game`); return; }
      const r = receiveMoves(g, m.moves);
      if (r.kind === 'illegal') { notice(`ignored an illegal move from ${from}: ${r.reason}`); return; }
      if (r.kind === 'behind') { sendMoves(true); return; }
      if (r.kind === 'new') {
        g.moves = [...g.moves, r.cell];
        saveGame();
        state.oppOnline = true;
        renderGame();
      }
      return;
    }
    case 'chat':
      chatLine(from, m.text);
      return;
    default:
  }
}

// ---- frames from the server ----

function onFrame(f) {
  switch (f.type) {
    case 'message': {
      const from = validPlayerId(f.from) ? f.from : null;
      if (!from) return;
      let m;
      try {
        m = parseGameMessage(f.message);
      } catch (e) {
        notice(`ignored a malformed message from ${from}: ${e.message}`);
        return;
      }
      if (m) receiveGame(from, m);
      else chatLine(from, JSON.stringify(f.message ?? null));
      return;
    }
    case 'ack': {
      const p = state.pending.get(f.id);
      if (!p) return;
      state.pending.delete(f.id);
      const queued = f.status === 'queued';
      if (p.what.startsWith('move')) {
        $('move-status').textContent = queued
          ? `${p.what}: queued (${p.to} is offline; it waits in their mailbox)`
          : `${p.what}: delivered`;
      }
      if (state.game && p.to === state.game.opp && (f.status === 'queued' || f.status === 'delivered')) setOpp(!queued);
      return;
    }
    case 'error': return onError(f);
    case 'presence':
      if (state.game && Array.isArray(f.online)) setOpp(f.online.includes(state.game.opp));
      if (state.outgoing && Array.isArray(f.online) && !state.game) {
        $('presence').textContent = f.online.includes(state.outgoing.to)
          ? `${state.outgoing.to} is online`
          : `${state.outgoing.to} is offline: the invitation waits in their mailbox`;
      }
      return;
    case 'inbox':
      if (Number.isInteger(f.delivered) && f.delivered > 0) chatLine(null, `${f.delivered} message(s) arrived from your inbox`, 'sys');
      return;
    default:
  }
}

function setOpp(online) {
  if (state.oppOnline === true && !online) notice(`${state.game.opp} went offline`, true);
  if (state.oppOnline === false && online) notice(`${state.game.opp} is back`, true);
  state.oppOnline = online;
  renderOpp();
}

const ERRORS = {
  too_large: 'too large: the message is over the size limit',
  forbidden: 'forbidden: a frame named another player as its sender',
  mailbox_full: 'mailbox full: the offline player cannot take more messages from you',
  bad_request: 'bad request',
  unknown_action: 'unknown action',
  unavailable: 'the backend is unavailable: nothing was sent',
  internal: 'the backend failed',
  kicked: 'kicked: an operator closed this connection',
};

function onError(f) {
  const code = textOf(f.code, 40) || 'error';
  const p = typeof f.id === 'string' ? state.pending.get(f.id) : null;
  if (p) state.pending.delete(f.id);
  const retryMs = Number.isFinite(f.retryAfterMs) ? Math.min(Math.max(f.retryAfterMs, 0), 3600000) : 0;
  if (code === 'rate_limited') countdown('rate limited', retryMs);
  else if (code === 'banned') notice(`banned: ${textOf(f.message, 500) || 'no reason given'}${typeof f.until === 'string' ? ` until ${textOf(f.until, 40)}` : ''}`);
  else notice(Object.hasOwn(ERRORS, code) ? ERRORS[code] : `${code}: ${textOf(f.message, 200)}`);
  // A game message the backend did not take is sent again, never lost.
  if (p && p.what !== 'chat' && (code === 'rate_limited' || code === 'unavailable')) {
    if (p.what.startsWith('move')) $('move-status').textContent = `${p.what}: ${code}, sending again`;
    setTimeout(() => sendTo(p.to, p.message, p.what), Math.max(retryMs, 1000));
  }
}

// ---- presence ----

let presenceTimer = null;
function pollPresence() {
  clearInterval(presenceTimer);
  const ask = () => {
    const who = state.game ? state.game.opp : state.outgoing ? state.outgoing.to : null;
    if (who && state.conn && state.conn.online && !document.hidden) state.conn.send({ action: 'presence', players: [who] });
  };
  ask();
  presenceTimer = setInterval(ask, PRESENCE_MS);
}

// ---- signing in and out ----

function showSignedIn(on) {
  $('signin').hidden = on;
  $('play').hidden = !on;
  $('who').hidden = !on;
}

function begin(session) {
  state.session = session;
  saveSession(session);
  $('me').textContent = session.playerId;
  showSignedIn(true);
  state.game = loadGame();
  state.pending.clear();
  renderGame();
  // Locally the admin API shares the page's origin; elsewhere config.json names it.
  const admin = session.groups.includes('admin') && (state.auth.mode === 'dev' || !!state.config.adminApiUrl);
  $('admin').hidden = !admin;
  if (admin) state.admin = new AdminPanel(state.config, () => state.conn.session.token, $);
  state.conn = new Connection({
    url: wsUrl(state.config),
    pingMs: pingSeconds(state.config) * 1000,
    auth: state.auth,
    session,
    hooks: {
      onStatus: setStatus,
      onFrame,
      onOpen: () => {
        if (state.game && !outcome(state.game.moves)) sendMoves(true);
        pollPresence();
      },
      onSession: (s) => { state.session = s; saveSession(s); },
      onSignedOut: (reason) => end(reason),
    },
  });
  state.conn.start();
}

function end(reason) {
  clearInterval(presenceTimer);
  if (state.conn) state.conn.stop();
  saveSession(null);
  setStatus('signed out');
  showSignedIn(false);
  $('name-input').value = state.session ? state.session.playerId : '';
  notice(reason);
}

// pingSeconds: config.json's "pingSeconds" (1 to 540), or 240.
function pingSeconds(config) {
  const n = config.pingSeconds;
  return Number.isInteger(n) && n >= 1 && n <= 540 ? n : 240;
}

function wsUrl(config) {
  if (config.wsUrl) return config.wsUrl;
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws`;
}

// ---- wiring ----

function wire() {
  $('signin-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const name = $('name-input').value.trim();
    if (!validPlayerId(name)) { notice('a name is 1 to 128 letters, digits or _ - . @ +'); return; }
    $('sign-in').disabled = true;
    try {
      begin(await state.auth.signIn(name, $('password-input').value, $('admin-check').checked));
      $('password-input').value = '';
      notice('');
    } catch (e) {
      notice(e.message);
    } finally {
      $('sign-in').disabled = false;
    }
  });
  $('sign-out').addEventListener('click', () => end('signed out'));
  $('challenge-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const to = canonicalId($('opponent-input').value.trim());
    if (!validPlayerId(to)) { notice('a player id is 1 to 128 letters, digits or _ - . @ +'); return; }
    if (to === state.session.playerId) { notice('challenge someone else'); return; }
    state.outgoing = { to, game: newGameId(), x: state.session.playerId };
    sendTo(to, { ttt: 1, kind: 'invite', game: state.outgoing.game, x: state.outgoing.x }, 'invite');
    $('presence').textContent = `invited ${to}…`;
    pollPresence();
  });
  // answer takes the invitation off the lobby and tells its sender.
  const answer = (kind) => {
    const inv = state.incoming;
    if (!inv) return null;
    state.incoming = null;
    $('invite').hidden = true;
    sendTo(inv.from, { ttt: 1, kind, game: inv.game }, kind);
    return inv;
  };
  $('accept').addEventListener('click', () => {
    const inv = answer('accept');
    if (!inv) return;
    startGame(newGame(inv.game, state.session.playerId, inv.from, inv.x));
    const first = document.querySelector('#board button:not(:disabled)');
    if (first) first.focus();
  });
  $('decline').addEventListener('click', () => answer('decline'));
  $('board').addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-cell]');
    if (b) play(Number(b.dataset.cell));
  });
  $('rematch').addEventListener('click', () => {
    const g = state.game;
    if (!g || !outcome(g.moves)) return;
    state.outgoing = { to: g.opp, game: newGameId(), x: g.x === g.me ? g.opp : g.me };
    sendTo(g.opp, { ttt: 1, kind: 'invite', game: state.outgoing.game, x: state.outgoing.x, rematch: true }, 'invite');
    notice(`asked ${g.opp} for a rematch`, true);
  });
  $('chat-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const text = $('chat-input').value.trim().slice(0, MAX_CHAT);
    const to = state.game ? state.game.opp : canonicalId($('opponent-input').value.trim());
    if (!text) return;
    if (!validPlayerId(to)) { notice('start a game or name a player to chat with'); return; }
    sendTo(to, { ttt: 1, kind: 'chat', text }, 'chat');
    chatLine(state.session.playerId, text, 'me');
    $('chat-input').value = '';
  });
}

async function main() {
  let config;
  try {
    const r = await fetch('config.json', { cache: 'no-store', signal: AbortSignal.timeout(10000) });
    config = await r.json();
  } catch {
    notice('config.json could not be read');
    return;
  }
  state.config = config && typeof config === 'object' ? config : {};
  state.auth = new Auth(state.config);
  $('password-row').hidden = !state.auth.needsPassword;
  $('admin-row').hidden = state.auth.needsPassword;
  wire();
  // A handle for the browser console: sws.send({action:'ping'}).
  window.sws = Object.freeze({ send: (f) => state.conn && state.conn.send(f) });
  const s = loadSession();
  if (s && s.expiresAt > Date.now()) begin(s);
  else setStatus('signed out');
}

main();
