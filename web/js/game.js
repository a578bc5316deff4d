// Tic-tac-toe rules and the game messages the two players exchange through
// `sendmessage`. Everything received is checked here before it is used:
// another player's message is hostile input.

export const LINES = [[0, 1, 2], [3, 4, 5], [6, 7, 8], [0, 3, 6], [1, 4, 7], [2, 5, 8], [0, 4, 8], [2, 4, 6]];

const ID = /^[A-Za-z0-9_.@+-]{1,128}$/;
const GAME_ID = /^[A-Za-z0-9-]{1,64}$/;
const KINDS = new Set(['invite', 'accept', 'decline', 'move', 'chat']);
export const MAX_CHAT = 500;

// Characters that would make one line of text from the network look like
// more, or like other text: line and paragraph breaks, every other control
// character (C0, DEL, C1) and the bidirectional formatting characters.
const HIDDEN = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]+/g;

// oneLine is text from the network as one visible line: each run of those
// characters becomes one space.
export const oneLine = (s) => s.replace(HIDDEN, ' ');

// textOf is a value from the network as at most max characters (code
// points, so no emoji is cut in half) of one line: a string, or '' for
// anything else (an object's toString is never called).
export const textOf = (v, max) => (typeof v === 'string' ? Array.from(oneLine(v)).slice(0, max).join('') : '');

export const validPlayerId = (s) => typeof s === 'string' && ID.test(s);

// canonicalId is the server's form of a player id: ids are case-insensitive
// and the server speaks of every player in lower case, so "Bob" typed in the
// lobby is the "bob" that frames come from.
export const canonicalId = (s) => s.toLowerCase();

// markOf is the mark of the i-th move: X always opens.
export const markOf = (i) => (i % 2 === 0 ? 'X' : 'O');

export function boardOf(moves) {
  const b = Array(9).fill('');
  moves.forEach((c, i) => { b[c] = markOf(i); });
  return b;
}

// outcome: {winner:'X'|'O', line:[…]} or {draw:true} or null while playing.
export function outcome(moves) {
  const b = boardOf(moves);
  for (const line of LINES) {
    const [a, c, d] = line;
    if (b[a] && b[a] === b[c] && b[a] === b[d]) return { winner: b[a], line };
  }
  return moves.length === 9 ? { draw: true } : null;
}

// legalNext says why cell cannot be the next move of moves, or '' if it can.
export function legalNext(moves, cell) {
  if (!Number.isInteger(cell) || cell < 0 || cell > 8) return 'no such cell';
  if (outcome(moves)) return 'the game is over';
  if (moves.includes(cell)) return 'that cell is taken';
  return '';
}

// newGame: x plays X and opens.
export function newGame(id, me, opp, x) {
  return { id, me, opp, x, moves: [] };
}

export const myMark = (g) => (g.x === g.me ? 'X' : 'O');
export const myTurn = (g) => !outcome(g.moves) && markOf(g.moves.length) === myMark(g);
export const playerOf = (g, mark) => (mark === 'X' ? g.x : g.x === g.me ? g.opp : g.me);

// receiveMoves compares the other side's whole move list with ours:
//   {kind:'same'}            nothing new (a duplicate or a sync);
//   {kind:'behind'}          they miss moves we have: send them ours;
//   {kind:'new', cell}       exactly one more move, theirs and legal;
//   {kind:'illegal', reason} anything else, to be ignored and reported.
export function receiveMoves(g, theirs) {
  const mine = g.moves;
  if (!Array.isArray(theirs) || theirs.length > 9) return { kind: 'illegal', reason: 'not a move list' };
  for (let i = 0; i < theirs.length; i++) {
    if (!Number.isInteger(theirs[i]) || theirs[i] < 0 || theirs[i] > 8) return { kind: 'illegal', reason: 'no such cell' };
  }
  const common = Math.min(mine.length, theirs.length);
  for (let i = 0; i < common; i++) {
    if (mine[i] !== theirs[i]) return { kind: 'illegal', reason: `move ${i + 1} differs from this board` };
  }
  if (theirs.length === mine.length) return { kind: 'same' };
  if (theirs.length < mine.length) return { kind: 'behind' };
  if (theirs.length > mine.length + 1) return { kind: 'illegal', reason: 'more than one move at once' };
  if (markOf(mine.length) === myMark(g)) return { kind: 'illegal', reason: 'a move out of turn' };
  const cell = theirs[mine.length];
  const why = legalNext(mine, cell);
  return why ? { kind: 'illegal', reason: why } : { kind: 'new', cell };
}

// parseGameMessage returns a checked game message, or null for anything
// that is not one (shown as plain chat instead). It throws for a game
// message that is malformed, so the caller can report it.
export function parseGameMessage(m) {
  if (m === null || typeof m !== 'object' || Array.isArray(m) || m.ttt !== 1) return null;
  if (!KINDS.has(m.kind)) throw new Error('unknown game message');
  if (m.kind === 'chat') {
    if (typeof m.text !== 'string' || m.text.length === 0 || m.text.length > MAX_CHAT) throw new Error('bad chat message');
    return { kind: 'chat', text: m.text };
  }
  if (typeof m.game !== 'string' || !GAME_ID.test(m.game)) throw new Error('bad game id');
  const out = { kind: m.kind, game: m.game };
  if (m.kind === 'invite') {
    if (!validPlayerId(m.x)) throw new Error('bad invitation');
    out.x = m.x;
    out.rematch = m.rematch === true;
  }
  if (m.kind === 'move') out.moves = m.moves;
  return out;
}

export function newGameId() {
  const b = new Uint8Array(9);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}
