// Validates docs/asyncapi.yaml with the AsyncAPI parser: the document must
// parse, resolve every $ref and raise no diagnostic of error or warning
// severity. (e2e/asyncapi_test.go sends its examples to the local stack.)
//
//   cd tools/asyncapi && npm ci && node --test

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Parser, DiagnosticSeverity } from '@asyncapi/parser';

const doc = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'asyncapi.yaml');

test('docs/asyncapi.yaml is a valid AsyncAPI 3.0 document', async () => {
  const { document, diagnostics } = await new Parser().parse(readFileSync(doc, 'utf8'));
  const serious = diagnostics.filter((d) => d.severity <= DiagnosticSeverity.Warning)
    .map((d) => `${d.code}: ${d.message} at ${d.path.join('.')}`);
  assert.deepEqual(serious, [], 'errors and warnings');
  assert.ok(document, 'the document parses');
  assert.equal(document.version(), '3.0.0');
  const sent = document.operations().filterBySend().map((o) => o.id()).sort();
  assert.deepEqual(sent, ['askInbox', 'askPresence', 'sendMessage', 'sendPing']);
});

test('a broken document is refused', async () => {
  const broken = readFileSync(doc, 'utf8').replace("$ref: '#/components/messages/ack'", "$ref: '#/components/messages/nothing'");
  const { diagnostics } = await new Parser().parse(broken);
  assert.ok(diagnostics.some((d) => d.severity === DiagnosticSeverity.Error), 'a dangling $ref is an error');
});
