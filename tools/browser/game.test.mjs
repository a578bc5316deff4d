// Unit tests of the web client's rules, run by node without a browser.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  boardOf, legalNext, myTurn, newGame, oneLine, outcome, parseGameMessage, playerOf, receiveMoves, textOf,
} from '../../web/js/game.js';
import { backoff, renewLead } from '../../web/js/conn.js';

test('outcome finds every line, a draw, and a game still going', () => {
  assert.deepEqual(outcome([0, 3, 1, 4, 2]), { winner: 'X', line: [0, 1, 2] });
  assert.deepEqual(outcome([0, 2, 1, 4, 8, 6]), { winner: 'O', line: [2, 4, 6] });
  assert.deepEqual(outcome([0, 1, 2, 4, 3, 5, 7, 6, 8]), { draw: true });
  assert.equal(outcome([0, 1, 2]), null);
  assert.equal(boardOf([4, 0]).join(','), 'O,,,,X,,,,');
});

test('legalNext refuses taken cells, cells off the board and moves after the end', () => {
  assert.equal(legalNext([0], 1), '');
  assert.equal(legalNext([0], 0), 'that cell is taken');
  for (const c of [-1, 9, 1.5, '1', null]) assert.equal(legalNext([], c), 'no such cell');
  assert.equal(legalNext([0, 3, 1, 4, 2], 8), 'the game is over');
});

test("receiveMoves takes exactly one legal move of the opponent's and nothing else", () => {
  const g = newGame('g1', 'bob', 'alice', 'alice'); // alice is X and opens
  assert.equal(myTurn(g), false);
  assert.deepEqual(receiveMoves(g, [4]), { kind: 'new', cell: 4 });
  assert.deepEqual(receiveMoves(g, []), { kind: 'same' });
  assert.equal(receiveMoves(g, [4, 0]).kind, 'illegal', 'two moves at once');
  assert.equal(receiveMoves(g, [9]).kind, 'illegal');
  assert.equal(receiveMoves(g, 'x').kind, 'illegal');
  assert.equal(receiveMoves(g, Array(10).fill(0)).kind, 'illegal');

  g.moves = [4, 0];
  assert.equal(receiveMoves(g, [4]).kind, 'behind');
  assert.equal(receiveMoves(g, [4, 1]).kind, 'illegal', 'a history that differs');
  assert.equal(receiveMoves(g, [4, 0, 4]).reason, 'that cell is taken');
  assert.deepEqual(receiveMoves(g, [4, 0, 8]), { kind: 'new', cell: 8 });

  g.moves = [4];
  assert.equal(myTurn(g), true);
  assert.equal(receiveMoves(g, [4, 0]).reason, 'a move out of turn', "the opponent cannot play bob's mark");
  assert.equal(playerOf(g, 'X'), 'alice');
  assert.equal(playerOf(g, 'O'), 'bob');
});

test('parseGameMessage passes plain messages through and refuses malformed game messages', () => {
  for (const m of ['hi', 3, null, [], { move: 'e4' }, { ttt: 2 }]) assert.equal(parseGameMessage(m), null);
  assert.deepEqual(parseGameMessage({ ttt: 1, kind: 'chat', text: 'gg' }), { kind: 'chat', text: 'gg' });
  assert.deepEqual(parseGameMessage({ ttt: 1, kind: 'invite', game: 'ab-1', x: 'alice', extra: 1 }),
    { kind: 'invite', game: 'ab-1', x: 'alice', rematch: false });
  const bad = [
    { ttt: 1, kind: 'resign' },
    { ttt: 1, kind: 'chat', text: '' },
    { ttt: 1, kind: 'chat', text: 'x'.repeat(501) },
    { ttt: 1, kind: 'move', game: '<img>', moves: [] },
    { ttt: 1, kind: 'move', game: { a: 1 }, moves: [] },
    { ttt: 1, kind: 'invite', game: 'g', x: 'a b' },
    { ttt: 1, kind: '__proto__' },
  ];
  for (const m of bad) assert.throws(() => parseGameMessage(m), undefined, JSON.stringify(m));
});

test('backoff is jittered, grows with the attempt and is capped', () => {
  assert.equal(backoff(0, () => 0), 250, 'never sooner than 250 ms');
  assert.equal(backoff(0, () => 0.999), 499);
  assert.equal(backoff(3, () => 0.5), 2000);
  assert.equal(backoff(30, () => 0.999), 29970, 'at most 30 s');
  assert.notEqual(backoff(5, () => 0.1), backoff(5, () => 0.9));
});

test('a token is renewed a minute before it expires, or a quarter of a shorter lifetime before', () => {
  assert.equal(renewLead({ issuedAt: 0, expiresAt: 3600000 }), 60000);
  assert.equal(renewLead({ issuedAt: 1000, expiresAt: 9000 }), 2000);
  assert.equal(renewLead({ issuedAt: 0, expiresAt: 100 }), 1000);
  assert.equal(renewLead({ expiresAt: Date.now() + 3600000 }), 60000, 'a session saved without issuedAt');
});

test('text from the network is shown as one line, and only strings are text', () => {
  assert.equal(oneLine('gg\nbob: I resign'), 'gg bob: I resign');
  for (const brk of ['\r\n', '\u2028', '\u2029', '\u0085', '\v', '\f', '\u202e', '\u2066', '\u0000']) {
    assert.equal(oneLine(`a${brk}b`), 'a b', JSON.stringify(brk));
  }
  assert.equal(oneLine('é 🎲 a,b'), 'é 🎲 a,b', 'other text is left alone');
  assert.equal(textOf('x'.repeat(10), 4), 'xxxx');
  assert.equal(textOf('ab🎲🎲', 3), 'ab🎲', 'a character outside the BMP is kept whole');
  for (const v of [{ toString: 1 }, { toString: () => 'x' }, ['a'], 7, null, undefined]) {
    assert.equal(textOf(v, 10), '', JSON.stringify(v));
  }
});
