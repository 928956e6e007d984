// Says whether the PowerSync Service v1.25.0 would refuse each config at startup, using
// its own config loading (service-config.mjs).
//
// usage: node config-check.mjs <config> <env-file or -> [<config> <env-file or -> ...]
// Each config sees the process environment over its .env file (as pskeys does).
// Prints one JSON line per config: {"loads":true} or
// {"loads":false,"stage":"parse|decode|schema|sync|resolve|keys|jwks","message":...}.
import { loadConfig, Refused } from './service-config.mjs';

async function check(path, envPath) {
  try {
    await loadConfig(path, envPath);
    return { loads: true };
  } catch (e) {
    if (!(e instanceof Refused)) throw e;
    return { loads: false, stage: e.stage, message: e.message };
  }
}

const args = process.argv.slice(2);
if (args.length == 0 || args.length % 2 != 0) {
  console.error('usage: node config-check.mjs <config> <env-file or -> [<config> <env-file or -> ...]');
  process.exit(64);
}
for (let i = 0; i < args.length; i += 2) {
  console.log(JSON.stringify(await check(args[i], args[i + 1])));
}
