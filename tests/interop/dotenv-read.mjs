// Reads .env files with node's dotenv (`dotenv.parse`, what node tools load .env with) and
// prints one JSON object per file, in the order given: { "NAME": "value", ... }.
//
// usage: node dotenv-read.mjs <env-file>...
import fs from 'node:fs';
import dotenv from 'dotenv';

for (const path of process.argv.slice(2)) {
  process.stdout.write(JSON.stringify(dotenv.parse(fs.readFileSync(path))) + '\n');
}
