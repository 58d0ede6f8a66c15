/** PublishedSignatures: the service definition a snapshot hands over (an EndpointSet's serviceDefinition). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PublishedSignatures } from '../src/metadata.ts';

const definition = JSON.stringify({
  canonicalName: 'com.example.TypesService',
  methods: [{ name: 'plusDay', parameterTypes: ['java.util.Date'], returnType: 'java.util.Date' }],
  types: [{ type: 'com.example.Status', enums: ['NEW', 'PAID'] }],
});

test('a published definition gives the methods and types; none, or an unreadable one, gives nothing', async () => {
  const source = new PublishedSignatures();
  assert.equal(await source.signatures(), undefined);
  source.update(definition);
  const read = await source.signatures();
  assert.deepEqual(read?.methods.get('plusDay')?.[0]?.parameterTypes, ['java.util.Date']);
  assert.deepEqual(read?.types['com.example.Status'], { enums: ['NEW', 'PAID'] });
  // The same text again is not parsed again.
  source.update(definition);
  assert.equal(await source.signatures(), read);
  source.update('{"not": "a definition"}');
  assert.equal(await source.signatures(), undefined);
  source.update(undefined);
  assert.equal(await source.signatures(), undefined);
});
