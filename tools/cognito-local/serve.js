// Starts cognito-local on a free loopback port, with its data in a fresh
// temporary directory, and prints its URL on the first line of stdout.
// Used by scripts/test for the Cognito tests, and by anything else that
// needs a Cognito-compatible peer (for example to create test players).
// PORT picks a fixed port; the default 0 lets the system choose.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cognito-local-'));
process.chdir(dir);
// Users sign in by user name, as in the stack's user pool (cognito-local's
// own default is e-mail addresses).
fs.mkdirSync('.cognito', { recursive: true });
fs.writeFileSync('.cognito/config.json', JSON.stringify({ UserPoolDefaults: { UsernameAttributes: [] } }));
process.env.HOST = '127.0.0.1';
process.env.PORT = process.env.PORT || '0';

const pino = require('pino');
const { createDefaultServer } = require('cognito-local');

const logger = pino({ level: process.env.DEBUG ? 'debug' : 'warn' }, process.stderr);
createDefaultServer(logger)
  .then((server) => server.start())
  .then((server) => {
    const { port } = server.address();
    process.stdout.write(`http://127.0.0.1:${port}\n`);
    const stop = () => server.close(() => {
      fs.rmSync(dir, { recursive: true, force: true });
      process.exit(0);
    });
    for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, stop);
  })
  .catch((err) => {
    process.stderr.write(`cognito-local: ${err && err.stack ? err.stack : err}\n`);
    fs.rmSync(dir, { recursive: true, force: true });
    process.exit(1);
  });
