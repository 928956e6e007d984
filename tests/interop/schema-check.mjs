// Validates pskeys' JSON output against the JSON Schemas in schemas/ (draft 2020-12), with
// ajv 8 in strict mode, so a schema with an unknown keyword fails as loudly as an output
// with an undocumented member.
//
// stdin:  a JSON array of {"schema": "init", "instance": <any JSON>} pairs.
// stdout: a JSON array, one entry per pair: {"ok": true} or {"ok": false, "errors": [...]}.
// Exit 2 when a schema does not compile or stdin is not such an array.

import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020Module from 'ajv/dist/2020.js';

const Ajv2020 = Ajv2020Module.default ?? Ajv2020Module;
const dir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'schemas');
const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
const names = [];
for (const file of readdirSync(dir).filter((f) => f.endsWith('.schema.json')).sort()) {
  ajv.addSchema(JSON.parse(readFileSync(join(dir, file), 'utf8')), file);
  names.push(file.replace(/\.schema\.json$/, ''));
}
const validators = {};
try {
  for (const name of names) validators[name] = ajv.getSchema(`${name}.schema.json`);
} catch (e) {
  console.error(`a schema does not compile: ${e.message}`);
  process.exit(2);
}

const pairs = JSON.parse(readFileSync(0, 'utf8'));
if (!Array.isArray(pairs)) {
  console.error('stdin must be a JSON array of {schema, instance}');
  process.exit(2);
}
const results = pairs.map(({ schema, instance }) => {
  const validate = validators[schema];
  if (!validate) return { ok: false, errors: [`no schema named ${schema} (have: ${names.join(', ')})`] };
  return validate(instance)
    ? { ok: true }
    : { ok: false, errors: validate.errors.map((e) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`) };
});
console.log(JSON.stringify({ schemas: names, results }));
