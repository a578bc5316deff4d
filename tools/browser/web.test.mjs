// The browser test tier: the web client in Debian's chromium, driven by
// playwright-core, against a local stack this test starts itself
// (cmd/local on a free loopback port). Two players play in two browser
// contexts; an admin acts from a third.
//
//   cd tools/browser && npm ci && node --test
//
// CHROMIUM selects another browser binary (default /usr/bin/chromium).
// Screenshots go to tools/browser/artifacts/ (ignored by git); with
// UPDATE_DOCS=1 the two README screenshots in docs/ are written again.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const artifacts = join(here, 'artifacts');
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];
const WAIT_MS = 15000; // the longest any one expected change may take to show

let work;
let stack;
let base;
const contexts = [];
const watched = []; // {label, page, errors, foreign, allow}

// Without a browser the tier skips and says why, unless CI is set: then it fails.
const missing = existsSync(executablePath) ? '' : `no browser at ${executablePath} (apt-get install -y chromium)`;
if (missing && process.env.CI === 'true') throw new Error(missing);
const skip = missing || false;
if (skip) console.log(`# skipping the browser tier: ${missing}`);
const scenario = (name, fn) => test(name, { skip }, fn);

before(async () => {
  if (skip) return;
  mkdirSync(artifacts, { recursive: true });
  work = mkdtempSync(join(tmpdir(), 'sws-browser-'));
  const bin = join(work, 'local');
  execFileSync('go', ['build', '-o', bin, './cmd/local'], { cwd: repo, stdio: 'inherit' });
  // 2 messages a second (default 10), so a flood's countdown lasts about half a second.
  stack = spawn(bin, ['-addr', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RATE_MESSAGES_PER_SECOND: '2' },
  });
  let log = '';
  stack.stderr.on('data', (d) => { log += d; });
  base = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`the local stack did not start:\n${out}\n${log}`)), 60000);
    stack.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/WebSocket\s+ws:\/\/(127\.0\.0\.1:\d+)\/ws/);
      if (m) { clearTimeout(timer); resolve(`http://${m[1]}`); }
    });
    stack.on('exit', (code) => reject(new Error(`the local stack exited (${code}):\n${log}`)));
  });
});

after(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  if (stack && stack.exitCode === null) {
    const exited = new Promise((r) => stack.once('exit', r));
    stack.kill('SIGTERM');
    await exited;
  }
  if (work) rmSync(work, { recursive: true, force: true });
});

// newContext opens a browser context with a fresh profile; every page it
// opens is watched for console errors and for requests outside the origin.
async function newContext(label) {
  const ctx = await chromium.launchPersistentContext(mkdtempSync(join(work, `profile-${label}-`)), {
    executablePath, headless: true, args: FLAGS, viewport: { width: 1100, height: 800 },
  });
  contexts.push(ctx);
  ctx.on('page', (p) => watch(label, p));
  ctx.pages().forEach((p) => watch(label, p));
  return ctx;
}

function watch(label, page) {
  const w = { label, page, errors: [], foreign: [], allow: null };
  const origin = new URL(base).origin;
  // A page is served by the stack, or (w.site) by another local origin
  // that it calls the stack from.
  const own = (u) => [origin, w.site].includes(new URL(u).origin);
  page.on('console', (m) => {
    if (m.type() === 'error' && !(w.allow && w.allow.test(m.text()))) w.errors.push(m.text());
  });
  page.on('pageerror', (e) => w.errors.push(String(e)));
  page.on('request', (r) => { if (!own(r.url())) w.foreign.push(r.url()); });
  page.on('websocket', (ws) => { if (new URL(ws.url()).host !== new URL(base).host) w.foreign.push(ws.url()); });
  watched.push(w);
}

async function until(what, fn) {
  const deadline = Date.now() + WAIT_MS;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) { last = e; }
    if (Date.now() > deadline) throw new Error(`waited ${WAIT_MS} ms for ${what}; last: ${last}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const text = (page, id) => page.getByTestId(id).textContent();

async function board(page) {
  const cells = await page.locator('#board button').allTextContents();
  return cells.map((c) => c || '.').join('');
}

async function signIn(ctx, name, { admin = false, page = null } = {}) {
  const p = page || ctx.pages()[0] || await ctx.newPage();
  await p.goto(base + '/');
  if (name === 'alice') await shot(p, 'sign-in');
  await p.getByTestId('name-input').fill(name);
  if (admin) await p.getByLabel(/admin/).check();
  await p.getByTestId('sign-in').click();
  await until(`${name} online`, async () => (await text(p, 'status')) === 'online');
  assert.equal(await text(p, 'me'), name);
  return p;
}

// play makes a move on page and waits until both boards show want.
async function play(mover, other, cell, want) {
  await mover.getByTestId(`cell-${cell}`).click();
  await until(`both boards to show ${want}`, async () => (await board(mover)) === want && (await board(other)) === want);
}

async function shot(page, name) {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
  if (process.env.UPDATE_DOCS === '1' && name.startsWith('docs-')) {
    await page.screenshot({ path: join(repo, 'docs', `${name.slice(5)}.png`), fullPage: true });
  }
}

let aliceCtx; let bobCtx; let alice; let bob;

scenario('two players sign in; one challenges, the other declines, then accepts', async () => {
  aliceCtx = await newContext('alice');
  bobCtx = await newContext('bob');
  // Alice's page pings every second instead of every 4 minutes.
  const frames = [];
  await aliceCtx.route('**/config.json', async (route) => {
    const res = await route.fetch();
    route.fulfill({ response: res, json: { ...(await res.json()), pingSeconds: 1 } });
  });
  const tap = (p) => p.on('websocket', (ws) => ws.on('framereceived', (f) => frames.push(String(f.payload))));
  aliceCtx.on('page', tap);
  aliceCtx.pages().forEach(tap);
  alice = await signIn(aliceCtx, 'alice');
  await until('a pong for the keep-alive ping', () => frames.some((f) => /"type":"pong"/.test(f)));
  bob = await signIn(bobCtx, 'bob');
  assert.equal(await alice.locator('#admin').isVisible(), false, 'a player without the admin group sees no admin panel');

  await alice.getByTestId('opponent-input').fill('bob');
  await alice.getByTestId('challenge').click();
  await until('bob sees the invitation', () => bob.getByTestId('invite').isVisible());
  await until("alice sees bob's presence", async () => (await alice.locator('#presence').textContent()) === 'bob is online');
  await bob.getByTestId('decline').click();
  await until('alice is told', async () => (await text(alice, 'notice')) === 'bob declined');
  assert.equal(await bob.getByTestId('invite').isVisible(), false);

  await alice.getByTestId('challenge').click();
  await until('bob sees the second invitation', () => bob.getByTestId('invite').isVisible());
  assert.match(await text(bob, 'invite'), /alice challenges you: alice plays X and opens/);
  await bob.getByTestId('accept').click();
  await until('alice sees the game start', async () => (await text(alice, 'turn')) === 'your turn (X)');
  assert.equal(await text(bob, 'turn'), "alice's turn (X)");
});

scenario('a full game ends in a win; both boards agree move by move and name the same winner', async () => {
  await alice.getByTestId('chat-input').fill('good luck');
  await alice.getByTestId('chat-send').click();
  await until('bob reads the chat', async () => (await text(bob, 'chat-log')).includes('alice: good luck'));

  await play(alice, bob, 0, 'X........');
  assert.match(await text(alice, 'move-status'), /move 1: (sending|delivered)/);
  await until('the first move acknowledged', async () => (await text(alice, 'move-status')) === 'move 1: delivered');
  await play(bob, alice, 3, 'X..O.....');
  await play(alice, bob, 1, 'XX.O.....');
  await bob.getByTestId('chat-input').fill('hmm');
  await bob.getByTestId('chat-send').click();
  await until('alice reads the chat', async () => (await text(alice, 'chat-log')).includes('bob: hmm'));
  await shot(alice, 'docs-web-desktop');
  await bob.setViewportSize({ width: 360, height: 780 });
  await shot(bob, 'docs-web-phone');
  await bob.setViewportSize({ width: 1100, height: 800 });

  // Out of turn: bob's board does not let him, and a forged move list from
  // alice's console is ignored and reported on bob's page.
  assert.equal(await bob.getByTestId('cell-8').isDisabled(), false);
  assert.equal(await alice.getByTestId('cell-8').isDisabled(), true, "alice cannot move on bob's turn");
  // alice's earlier moves and presence polls leave her message budget (2 a
  // second, burst 20) anywhere between empty and full, so the frames go out
  // slower than it refills (1 s first, then one every 700 ms): each reaches
  // bob instead of being refused with rate_limited.
  await alice.evaluate(async () => {
    const pause = (ms) => new Promise((r) => setTimeout(r, ms));
    const g = JSON.parse(localStorage.getItem('sws.game.alice'));
    window.sws.send({ action: 'sendmessage', to: 'bob', id: 'forged', message: { ttt: 1, kind: 'move', game: g.id, moves: [0, 3, 1, 8, 2] } });
  });
  await until('bob reports the illegal move', async () => /ignored an illegal move from alice/.test(await text(bob, 'notice')));
  assert.equal(await board(bob), 'XX.O.....', 'the illegal move changed nothing');

  // Keyboard play: bob's move by focus and Enter.
  await bob.getByTestId('cell-4').focus();
  await bob.keyboard.press('Enter');
  await until('both boards to show the keyboard move', async () => (await board(alice)) === 'XX.OO....' && (await board(bob)) === 'XX.OO....');
  await play(alice, bob, 2, 'XXXOO....');
  await until('both show the result', async () => (await text(alice, 'result')) !== '' && (await text(bob, 'result')) !== '');
  assert.equal(await text(alice, 'result'), 'alice wins (X)');
  assert.equal(await text(bob, 'result'), 'alice wins (X)');
  assert.equal(await bob.getByTestId('cell-8').isDisabled(), true, 'no move after the end');
});

scenario('a rematch ends in a draw, and a player who reloads mid-game gets it back', async () => {
  await bob.getByTestId('rematch').click();
  await until('alice sees the rematch request', () => alice.getByTestId('invite').isVisible());
  assert.match(await text(alice, 'invite'), /bob asks for a rematch: bob plays X/);
  await alice.getByTestId('accept').click();
  await until('bob opens the rematch', async () => (await text(bob, 'turn')) === 'your turn (X)');
  assert.equal(await text(alice, 'result'), '');

  await play(bob, alice, 0, 'X........');
  await play(alice, bob, 1, 'XO.......');
  await play(bob, alice, 2, 'XOX......');
  await play(alice, bob, 4, 'XOX.O....');

  await alice.reload();
  await until('alice online again', async () => (await text(alice, 'status')) === 'online');
  assert.equal(await board(alice), 'XOX.O....', 'the reloaded board');
  assert.equal(await text(alice, 'turn'), "bob's turn (X)");

  await play(bob, alice, 3, 'XOXXO....');
  await play(alice, bob, 5, 'XOXXOO...');
  await play(bob, alice, 7, 'XOXXOO.X.');
  await play(alice, bob, 6, 'XOXXOOOX.');
  await play(bob, alice, 8, 'XOXXOOOXX');
  await until('both show the draw', async () => (await text(alice, 'result')) === 'draw' && (await text(bob, 'result')) === 'draw');
});

scenario('leaving: the other sees the opponent offline; a move is queued and arrives on return', async () => {
  await alice.getByTestId('rematch').click();
  await until('bob sees the rematch request', () => bob.getByTestId('invite').isVisible());
  await bob.getByTestId('accept').click();
  await until('alice opens', async () => (await text(alice, 'turn')) === 'your turn (X)');
  await play(alice, bob, 4, '....X....');
  await play(bob, alice, 0, 'O...X....');
  await until('alice sees bob online', async () => (await alice.locator('#opp-status').textContent()).includes('bob is online'));

  await bob.close();
  await until('alice is told bob went offline', async () => /bob went offline/.test(await text(alice, 'notice')));
  await alice.getByTestId('cell-8').click();
  await until('the move is queued', async () => /move 3: queued/.test(await text(alice, 'move-status')));

  bob = await signIn(bobCtx, 'bob', { page: await bobCtx.newPage() });
  await until('bob gets the queued move', async () => (await board(bob)) === 'O...X...X');
  assert.equal(await text(bob, 'turn'), 'your turn (O)');
  await until('alice sees bob back', async () => (await alice.locator('#opp-status').textContent()).includes('bob is online'));
  await play(bob, alice, 2, 'O.O.X...X');
});

scenario("hostile messages from the other side change nothing and are reported", async () => {
  const before = await board(bob);
  // alice's earlier moves and presence polls leave her message budget (2 a
  // second, burst 20) anywhere between empty and full, so the frames go out
  // slower than it refills (1 s first, then one every 700 ms): each reaches
  // bob instead of being refused with rate_limited.
  await alice.evaluate(async () => {
    const pause = (ms) => new Promise((r) => setTimeout(r, ms));
    const g = JSON.parse(localStorage.getItem('sws.game.alice'));
    let deep = 1;
    for (let i = 0; i < 30; i++) deep = [deep];
    const junk = [
      { ttt: 1, kind: 'move', game: g.id, moves: 'all of them' },
      { ttt: 1, kind: 'move', game: g.id, moves: [{ valueOf: 1 }] },
      { ttt: 1, kind: 'move', game: 'another-game', moves: [4] },
      { ttt: 1, kind: 'accept', game: 'nobody-asked' },
      { ttt: 1, kind: 'invite', game: 'g-3', x: 'mallory' },
      { ttt: 1, kind: 'chat', text: 'x'.repeat(600) },
      { ttt: 1, kind: '__proto__', game: g.id },
      { ttt: 1, kind: 'chat', text: '<img src=x onerror=alert(1)>' },
      { ttt: 1, kind: 'chat', text: 'gg\nbob: I resign, you win' },
      { ttt: 1, kind: 'chat', text: 'gg\u2028bob:\u202e niw uoy' },
      deep,
      null,
    ];
    await pause(1000);
    for (const [i, message] of [...junk, { ttt: 1, kind: 'chat', text: 'last' }].entries()) {
      window.sws.send({ action: 'sendmessage', to: 'bob', id: i < junk.length ? `junk-${i}` : 'junk-last', message });
      await pause(700);
    }
  });
  await until('bob reads the last message', async () => (await text(bob, 'chat-log')).includes('alice: last'));
  assert.equal(await board(bob), before, 'the board is unchanged');
  const log = await text(bob, 'chat-log');
  assert.ok(log.includes('alice: <img src=x onerror=alert(1)>'), 'markup is shown as text');
  assert.equal(await bob.locator('#chat-log img').count(), 0, 'and never becomes an element');
  assert.ok(!log.includes('x'.repeat(600)), 'an over-long chat message is refused');
  // One message is one entry, attributed to its sender: a line break in
  // the text cannot draw a line that looks like bob's.
  const entries = await bob.locator('#chat-log li').evaluateAll((lis) => lis.map((li) => ({
    who: li.querySelector('.who')?.textContent ?? null, text: li.textContent, lines: li.getClientRects().length,
    height: li.getBoundingClientRect().height, lineHeight: parseFloat(getComputedStyle(li).lineHeight),
  })));
  const spoofs = entries.filter((e) => e.text.includes('I resign') || e.text.includes('niw uoy'));
  assert.equal(spoofs.length, 2, 'each spoofing message is one entry');
  for (const e of spoofs) {
    assert.equal(e.who, 'alice', `${JSON.stringify(e.text)} is attributed to alice`);
    assert.ok(!/[\n\u2028\u202e]/.test(e.text), `${JSON.stringify(e.text)} holds no line break or override`);
    assert.ok(e.height < 1.5 * e.lineHeight, `${JSON.stringify(e.text)} is shown on one line (${e.height} px)`);
  }
  assert.ok(!entries.some((e) => e.who === 'bob'), 'no entry is attributed to bob, who sent nothing');
  assert.equal(await bob.getByTestId('invite').isVisible(), false, 'an invitation naming a third player is ignored');
});

scenario('an error frame with a hostile shape changes nothing', async () => {
  // Only the Management API can send a client an error frame the server
  // would never make: post one to bob's connection with the AWS CLI, as an
  // operator's script could.
  const { token } = await (await fetch(`${base}/dev/token`, { method: 'POST', body: '{"playerId":"ops","groups":["admin"]}' })).json();
  const player = await (await fetch(`${base}/admin/players/bob`, { headers: { Authorization: `Bearer ${token}` } })).json();
  assert.ok(player.connections.length > 0, 'bob is connected');
  const frame = join(work, 'hostile-error.json');
  writeFileSync(frame, JSON.stringify({ type: 'error', code: 'toString', message: { toString: 1 }, id: { toString: 1 } }));
  const env = { ...process.env, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' };
  delete env.AWS_SESSION_TOKEN;
  delete env.AWS_PROFILE;
  for (const c of player.connections) {
    execFileSync('aws', ['apigatewaymanagementapi', 'post-to-connection', '--endpoint-url', base, '--region', 'us-east-1',
      `--connection-id=${c.connectionId}`, '--data', `fileb://${frame}`], {
      env,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
  await until('bob shows the unknown code', async () => (await text(bob, 'notice')) === 'toString: ');
  assert.equal(await text(bob, 'status'), 'online', 'and stays online');
});

scenario('too_large and forbidden answers are shown', async () => {
  await alice.evaluate(() => window.sws.send({ action: 'sendmessage', to: 'bob', id: 'big', message: 'x'.repeat(9000) }));
  await until('the too_large notice', async () => /^too large/.test(await text(alice, 'notice')));
  await alice.evaluate(() => window.sws.send({ action: 'sendmessage', playerId: 'mallory', destinationPlayerId: 'bob', message: 'hi', id: 'spoof' }));
  await until('the forbidden notice', async () => /^forbidden/.test(await text(alice, 'notice')));
});

scenario('a flood from the console shows the rate-limit notice with a countdown', async () => {
  // The countdown lasts as long as retryAfterMs (about 500 ms at 2 messages
  // a second), so every text the notice shows is recorded.
  await alice.evaluate(() => {
    const el = document.querySelector('[data-testid="notice"]');
    window.noticeTexts = [];
    new MutationObserver(() => window.noticeTexts.push(el.textContent))
      .observe(el, { childList: true, characterData: true, subtree: true });
    for (let i = 0; i < 40; i++) window.sws.send({ action: 'sendmessage', to: 'alice', id: `flood-${i}`, message: { flood: i } });
  });
  const texts = await until('the countdown to run out', async () => {
    const t = await alice.evaluate(() => window.noticeTexts);
    return t.at(-1) === 'rate limited: you can send again' && t;
  });
  const counts = texts.map((t) => t.match(/^rate limited: you can send again in (\d+\.\d) s$/)).filter(Boolean).map((m) => Number(m[1]));
  assert.ok(counts.length > 0 && counts.every((n) => n > 0), `countdown texts: ${JSON.stringify(texts.slice(0, 10))}`);
});

scenario('an admin kicks a player, who reconnects, then bans them: the page shows the reason and its reconnect is refused', async () => {
  const root = await signIn(await newContext('root'), 'root', { admin: true });
  await until('the admin panel', () => root.locator('#admin').isVisible());
  await root.getByTestId('admin-player-input').fill('bob');
  await root.getByTestId('admin-lookup').click();
  await until('the look-up', async () => /player bob: online/.test(await text(root, 'admin-result')));

  await root.getByTestId('admin-kick').click();
  await until('the kick', async () => /kick: done\n1 connection\(s\) closed/.test(await text(root, 'admin-result')));
  await until('bob is told', async () => /kicked/.test(await text(bob, 'notice')));
  await until('bob back online after the kick', async () => (await text(bob, 'status')) === 'online');

  // The browser logs the refused upgrade of bob's reconnect itself.
  watched.find((w) => w.page === bob).allow = /WebSocket connection to .* failed/;
  await root.getByLabel('Ban reason').fill('cheating');
  await root.getByTestId('admin-ban').click();
  await until('the ban', async () => /ban: done/.test(await text(root, 'admin-result')));
  await until('bob is refused', async () => /refused: banned \(cheating\)/.test(await text(bob, 'notice')));
  assert.equal(await text(bob, 'status'), 'signed out');

  await root.getByTestId('admin-unban').click();
  await until('the ban lifted', async () => /ban lifted/.test(await text(root, 'admin-result')));
  await shot(root, 'admin');
});

scenario('a page served by another local origin signs in with a dev token and plays', async () => {
  // A game's own dev server on another port: the web client's files, with
  // a config.json naming the stack, as a Vite or WebGL build would.
  const stackUrl = new URL(base);
  const files = join(repo, 'web');
  const site = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    if (path === '/config.json') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return res.end(JSON.stringify({ auth: 'dev', wsUrl: `ws://${stackUrl.host}/ws`, devTokenUrl: `${base}/dev/token`, adminApiUrl: base }));
    }
    const file = join(files, path === '/' ? 'index.html' : path);
    if (!file.startsWith(files) || !existsSync(file)) { res.writeHead(404); return res.end(); }
    const type = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' }[extname(file)] || 'application/octet-stream';
    res.writeHead(200, { 'Content-Type': type });
    res.end(readFileSync(file));
  });
  await new Promise((r) => site.listen(0, '127.0.0.1', r));
  try {
    const siteUrl = `http://localhost:${site.address().port}`;
    const ctxA = await newContext('vite-a');
    const ctxB = await newContext('vite-b');
    const pages = [];
    for (const [ctx, name] of [[ctxA, 'vite-a'], [ctxB, 'vite-b']]) {
      const p = ctx.pages()[0] || await ctx.newPage();
      watched.find((w) => w.page === p).site = siteUrl; // its stack is another origin, on purpose
      await p.goto(siteUrl + '/');
      await p.getByTestId('name-input').fill(name);
      await p.getByTestId('sign-in').click();
      await until(`${name} online from ${siteUrl}`, async () => (await text(p, 'status')) === 'online');
      pages.push(p);
    }
    const [a, b] = pages;
    await a.getByTestId('opponent-input').fill('vite-b');
    await a.getByTestId('challenge').click();
    await until('the invitation', async () => b.getByTestId('invite').isVisible());
    await b.getByTestId('accept').click();
    await until('the game starts', async () => (await text(a, 'turn')) === 'your turn (X)');
    await play(a, b, 4, '....X....');
    await play(b, a, 0, 'O...X....');
    await play(a, b, 2, 'O.X.X....');
    await play(b, a, 1, 'OOX.X....');
    await play(a, b, 6, 'OOX.X.X..');
    await until('both see the end', async () => /vite-a wins|you win/.test(await text(a, 'result')) && /vite-a wins|you lose/.test(await text(b, 'result')));
  } finally {
    site.close();
  }
});

scenario('a token the stack refuses (as after a restart, which makes a new signing key) is replaced by a new dev token', async () => {
  const ctx = await newContext('frank');
  let issued = 0;
  await ctx.route('**/dev/token', async (route) => {
    issued += 1;
    if (issued > 1) return route.fallback();
    // The first token is one the stack will refuse, as it refuses every
    // token of a previous run.
    return route.fulfill({ json: { token: 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJmcmFuayJ9.c2lnbmF0dXJl', expiresAt: Math.floor(Date.now() / 1000) + 3600 } });
  });
  const page = ctx.pages()[0] || await ctx.newPage();
  // The browser logs each refused upgrade itself.
  watched.find((w) => w.page === page).allow = /WebSocket connection to .* failed/;
  await page.goto(base + '/');
  await page.getByTestId('name-input').fill('frank');
  await page.getByTestId('sign-in').click();
  await until('frank online on a new token', async () => (await text(page, 'status')) === 'online');
  assert.equal(issued, 2, 'one refused token, then one new dev token');
});

scenario('a short-lived token is renewed before it expires; when renewal fails the page asks to sign in again', async () => {
  const ctx = await newContext('erin');
  const tokens = [];
  await ctx.route('**/dev/token', async (route) => {
    if (tokens.length >= 2) return route.fulfill({ status: 503, json: { error: 'issuer down' } });
    const res = await route.fetch({ postData: JSON.stringify({ ...route.request().postDataJSON(), ttlSeconds: 8 }) });
    const body = await res.json();
    tokens.push(body.token);
    return route.fulfill({ response: res, json: body });
  });
  const page = ctx.pages()[0] || await ctx.newPage();
  const sockets = [];
  page.on('websocket', (ws) => sockets.push(new URL(ws.url()).searchParams.get('token')));
  await signIn(ctx, 'erin', { page });
  assert.deepEqual(sockets, [tokens[0]]);
  // Without a network the page says offline, and reconnects when it is back.
  await ctx.setOffline(true);
  await until('offline', async () => (await text(page, 'status')) === 'offline');
  await ctx.setOffline(false);
  await until('the renewed token in use', async () => tokens.length === 2 && sockets.at(-1) === tokens[1] && (await text(page, 'status')) === 'online');
  // The browser logs the issuer's 503 itself.
  watched.find((w) => w.page === page).allow = /Failed to load resource: the server responded with a status of 503/;
  await until('the failed renewal', async () => (await text(page, 'status')) === 'signed out');
  assert.match(await text(page, 'notice'), /^your sign-in expired \(sign-in refused: issuer down\): sign in again$/);
  assert.equal(await page.getByTestId('name-input').inputValue(), 'erin', 'the name is kept for signing in again');
});

scenario('no page logged a console error or made a request outside its origin', () => {
  assert.ok(watched.length >= 4, `pages watched: ${watched.length}`);
  for (const w of watched) {
    assert.deepEqual(w.errors, [], `console errors on ${w.label}'s page`);
    assert.deepEqual(w.foreign, [], `requests outside the origin from ${w.label}'s page`);
  }
});
