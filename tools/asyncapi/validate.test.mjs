// Validates docs/asyncapi.yaml with the AsyncAPI parser, and
// docs/admin-openapi.yaml with Spectral's OpenAPI ruleset: each must parse,
// resolve every $ref and raise no diagnostic of error or warning severity.
// (e2e/asyncapi_test.go and e2e/openapi_test.go send their examples to the
// local stack.)
//
//   cd tools/asyncapi && npm ci && node --test

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Parser, DiagnosticSeverity } from '@asyncapi/parser';
import spectralCore from '@stoplight/spectral-core';
import Parsers from '@stoplight/spectral-parsers';
import { oas } from '@stoplight/spectral-rulesets';

const { Spectral, Document } = spectralCore;

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

// The admin API's OpenAPI 3.1 document, linted with Spectral's OpenAPI
// ruleset (the rules of the spec itself and the recommended ones): no
// error and no warning.
const adminDoc = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'admin-openapi.yaml');

async function lintOpenAPI(text) {
  const spectral = new Spectral();
  spectral.setRuleset({ extends: [[oas, 'recommended']] });
  return spectral.run(new Document(text, Parsers.Yaml, adminDoc));
}

test('docs/admin-openapi.yaml is a valid OpenAPI 3.1 document', async () => {
  const results = await lintOpenAPI(readFileSync(adminDoc, 'utf8'));
  const serious = results.filter((r) => r.severity <= 1).map((r) => `${r.code}: ${r.message} at ${r.path.join('.')}`);
  assert.deepEqual(serious, [], 'errors and warnings');
});

test('a broken OpenAPI document is refused', async () => {
  const broken = readFileSync(adminDoc, 'utf8').replace("$ref: '#/components/schemas/Ban'", "$ref: '#/components/schemas/Nothing'");
  const results = await lintOpenAPI(broken);
  assert.ok(results.some((r) => r.severity === 0), 'a dangling $ref is an error');
});
