// Lints the container image and the compose example without a Docker engine: what can be
// checked from the files alone, with the tools their consumers use where npm has them.
//
//   dockerfile  Dockerfile through dockerfile-utils' validator (the one the VS Code Docker
//               extension runs), then the image's contract read with dockerfile-ast: a
//               builder FROM an official Rust image no older than Cargo.toml's
//               rust-version, on the same Debian release as the runtime base (glibc);
//               AWS_LC_SYS_NO_JITTER_ENTROPY=1; `cargo build --release --locked`; a runtime
//               stage holding the binary alone (no RUN, COPY only --from the builder), a
//               non-root USER, WORKDIR /work, ENTRYPOINT ["pskeys"], EXPOSE 6060, OCI
//               labels agreeing with Cargo.toml.
//   context     .dockerignore read by @balena/dockerignore (docker-modem's matcher): every
//               file the builder COPYs is sent, every include_str!/include_bytes! in src/
//               lies in a COPY, and .env files, target/, .git and node_modules never are.
//   compose     examples/compose/compose.yaml against the Compose Specification's JSON
//               schema (vendor/compose-spec.json, ajv 8), then how its parts meet: the
//               service's POWERSYNC_CONFIG_PATH is the mounted powersync.yaml; each
//               jwks_uri names a compose service running `pskeys serve` on that port, on
//               all interfaces of its container; pskeys is built from the repository's
//               Dockerfile and mounts the example at the image's WORKDIR; .env.example's
//               database URIs name compose services with their credentials; the source
//               has wal_level=logical and a `powersync` publication; ports agree.
//   sync        the sync config the service config names, parsed by the service's own
//               @powersync/service-sync-rules against the tables pg-init/ creates (0.38.1,
//               service 1.23.2's: 1.25.0 bundles 0.40.0, which npm does not have; its
//               changes concern Sync Streams, not these Sync Rules). Warnings count.
//
// The service config itself and `pskeys doctor` are checked by tests/container.rs (after
// a `pskeys init`, with config-check.mjs).
//
// usage: node container-lint.mjs [--root DIR]...
// DIR is a repository (default: the one holding this script); tests/container.rs points it
// at altered copies to see each check fail. Prints, for each, one JSON line per check,
// {"root": DIR, "check": name, "problems": [...], "notes": [...]}, then
// {"root": DIR, "versions": {...}, ...}. Exit 0 whatever it found: the caller judges.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import AJV from 'ajv';
import dockerignore from '@balena/dockerignore';
import { DockerfileParser } from 'dockerfile-ast';
import { validate as validateDockerfile } from 'dockerfile-utils';
import { DEFAULT_TAG, SqlSyncRules, StaticSchema } from '@powersync/service-sync-rules';
import * as yaml from 'yaml';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
// The repository being checked (see the end: one or more --root).
let root = path.resolve(here, '../..');
let example = path.join(root, 'examples/compose');
const rel = (p) => path.relative(root, p).split(path.sep).join('/');
const read = (p) => fs.readFileSync(p, 'utf8');

// --- Cargo.toml: the few [package] fields the image must agree with ---
function cargoPackage() {
  const text = read(path.join(root, 'Cargo.toml'));
  const section = text.split(/^\[/m).find((s) => s.startsWith('package]')) ?? '';
  const field = (name) => section.match(new RegExp(`^${name}\\s*=\\s*"([^"]*)"`, 'm'))?.[1];
  return { version: field('version'), rustVersion: field('rust-version'), license: field('license') };
}

const versionAtLeast = (have, want) => {
  const a = have.split('.').map(Number);
  const b = want.split('.').map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if ((a[i] ?? 0) != (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  }
  return true;
};

// --- Dockerfile ---
const DEBIAN = { bookworm: '12', trixie: '13' };

function stagesOf(dockerfile) {
  const stages = [];
  for (const ins of dockerfile.getInstructions()) {
    if (ins.getKeyword() == 'FROM') stages.push({ from: ins, instructions: [] });
    else if (stages.length) stages[stages.length - 1].instructions.push(ins);
  }
  return stages;
}

// ARG defaults declared before the first FROM, for `${NAME}` in FROM lines.
function initialArgs(dockerfile) {
  const out = {};
  for (const arg of dockerfile.getInitialARGs()) {
    const prop = arg.getProperty();
    if (prop) out[prop.getName()] = prop.getValue() ?? '';
  }
  return out;
}

const expand = (text, vars) => text.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a, b) => vars[a ?? b] ?? '');
const jsonArgs = (ins) => (ins.getJSONStrings?.() ?? []).map((s) => s.getJSONValue());
const flag = (ins, name) => ins.getFlags?.().find((f) => f.getName() == name)?.getValue();

function checkDockerfile(text, cargo) {
  const problems = [];
  const at = (ins) => `Dockerfile:${ins.getRange().start.line + 1}`;
  for (const d of validateDockerfile(text)) {
    problems.push(`Dockerfile:${d.range.start.line + 1}: dockerfile-utils: ${d.message}`);
  }
  const dockerfile = DockerfileParser.parse(text);
  const stages = stagesOf(dockerfile);
  if (stages.length != 2) {
    problems.push(`${stages.length} stages: expected a builder and a runtime stage`);
    return { problems, facts: {} };
  }
  const [builder, runtime] = stages;
  const args = initialArgs(dockerfile);
  const builderImage = expand(builder.from.getImage() ?? '', args);
  const runtimeImage = runtime.from.getImage() ?? '';
  const builderName = builder.from.getBuildStage();

  // Builder: the official Rust image, new enough, on a Debian release the runtime shares.
  const rust = builderImage.match(/^(?:docker\.io\/(?:library\/)?)?rust:(\d+\.\d+(?:\.\d+)?)-slim-(\w+)$/);
  let builderDebian;
  if (!rust) {
    problems.push(`${at(builder.from)}: builder FROM ${builderImage}: expected rust:<version>-slim-<debian release>`);
  } else {
    if (!versionAtLeast(rust[1], cargo.rustVersion)) {
      problems.push(`${at(builder.from)}: builder rust:${rust[1]} is older than Cargo.toml's rust-version ${cargo.rustVersion}`);
    }
    builderDebian = DEBIAN[rust[2]];
    if (!builderDebian) problems.push(`${at(builder.from)}: unknown Debian release ${rust[2]}`);
  }
  const runtimeDebian = runtimeImage.match(/^gcr\.io\/distroless\/cc-debian(\d+)(?::|$)/)?.[1]
    ?? Object.entries(DEBIAN).find(([name]) => runtimeImage.startsWith(`debian:${name}`))?.[1];
  if (!runtimeDebian) {
    problems.push(`${at(runtime.from)}: runtime FROM ${runtimeImage}: expected gcr.io/distroless/cc-debian<N> or debian:<release>-slim`);
  } else if (builderDebian && builderDebian != runtimeDebian) {
    problems.push(`${at(runtime.from)}: the builder is Debian ${builderDebian}, the runtime Debian ${runtimeDebian}: a binary linked against a newer glibc does not start`);
  }

  const builderEnv = Object.fromEntries(
    builder.instructions.filter((i) => i.getKeyword() == 'ENV').flatMap((i) => i.getProperties().map((p) => [p.getName(), p.getValue()]))
  );
  if (builderEnv.AWS_LC_SYS_NO_JITTER_ENTROPY !== '1') {
    problems.push('builder: ENV AWS_LC_SYS_NO_JITTER_ENTROPY=1 missing (AWS-LC would seed from CPU jitter: +30 ms per ES256/RS256 mint)');
  }
  const runs = builder.instructions.filter((i) => i.getKeyword() == 'RUN').map((i) => i.getArgumentsContent() ?? '');
  if (!runs.some((r) => /\bcargo build\b(?=.*--release)(?=.*--locked)/s.test(r.replace(/\\\n/g, ' ')))) {
    problems.push('builder: no `cargo build --release --locked`');
  }
  const copies = builder.instructions
    .filter((i) => i.getKeyword() == 'COPY' && !flag(i, 'from'))
    .flatMap((i) => {
      const parts = i.getArguments().map((a) => a.getValue()).filter((a) => !a.startsWith('--'));
      return parts.slice(0, -1).map((src) => ({ src: src.replace(/\/$/, ''), line: at(i) }));
    });

  // Runtime: the binary alone, as a non-root user in /work.
  for (const ins of runtime.instructions) {
    const k = ins.getKeyword();
    if (k == 'RUN' || k == 'ADD') problems.push(`${at(ins)}: ${k} in the runtime stage: it should hold the binary only`);
    if (k == 'COPY' && flag(ins, 'from') != builderName) {
      problems.push(`${at(ins)}: COPY in the runtime stage not --from=${builderName}`);
    }
  }
  const last = (k) => runtime.instructions.filter((i) => i.getKeyword() == k).at(-1);
  const user = last('USER')?.getArgumentsContent();
  if (!user) problems.push('runtime: no USER (the base image default is not stated)');
  else if (/^(root|0)(:|$)/.test(user)) problems.push(`runtime: USER ${user} is root`);
  const workdir = last('WORKDIR')?.getArgumentsContent();
  if (workdir != '/work') problems.push(`runtime: WORKDIR ${workdir}: expected /work (where users mount their project)`);
  const entrypoint = last('ENTRYPOINT');
  const binary = runtime.instructions
    .filter((i) => i.getKeyword() == 'COPY')
    .map((i) => i.getArguments().at(-1)?.getValue())
    .find((dst) => dst && path.posix.basename(dst) == 'pskeys');
  if (!entrypoint || JSON.stringify(jsonArgs(entrypoint)) != '["pskeys"]') {
    problems.push('runtime: ENTRYPOINT must be the exec form ["pskeys"]');
  }
  if (!binary || !['/usr/local/bin', '/usr/bin', '/bin'].includes(path.posix.dirname(binary))) {
    problems.push(`runtime: the binary goes to ${binary ?? 'nowhere'}: ENTRYPOINT ["pskeys"] needs it on the distroless PATH`);
  }
  if (!last('CMD')) problems.push('runtime: no CMD (`docker run pskeys` should print help)');
  const exposed = runtime.instructions.filter((i) => i.getKeyword() == 'EXPOSE').flatMap((i) => i.getArguments().map((a) => a.getValue()));
  if (!exposed.some((p) => p == '6060' || p == '6060/tcp')) problems.push('runtime: EXPOSE 6060 (pskeys serve) missing');
  const labels = Object.fromEntries(
    runtime.instructions.filter((i) => i.getKeyword() == 'LABEL').flatMap((i) => i.getProperties().map((p) => [p.getName(), p.getValue()]))
  );
  for (const [name, want] of [
    ['org.opencontainers.image.title', 'pskeys'],
    ['org.opencontainers.image.version', cargo.version],
    ['org.opencontainers.image.licenses', cargo.license],
    ['org.opencontainers.image.description', null]
  ]) {
    if (!(name in labels)) problems.push(`runtime: LABEL ${name} missing`);
    else if (want != null && labels[name] != want) problems.push(`runtime: LABEL ${name}="${labels[name]}", Cargo.toml says "${want}"`);
  }
  return { problems, facts: { copies, workdir, builderImage, runtimeImage } };
}

// --- .dockerignore: what the builder COPYs is sent, secrets and junk never are ---
function walk(dir) {
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out;
}

function checkContext(copies) {
  const problems = [];
  const patterns = read(path.join(root, '.dockerignore'))
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const ig = dockerignore({ ignorecase: false }).add(patterns);
  const sent = new Set();
  for (const { src, line } of copies) {
    const abs = path.join(root, src);
    if (!fs.existsSync(abs)) {
      problems.push(`${line}: COPY ${src}: no such file in the repository`);
      continue;
    }
    const files = fs.statSync(abs).isDirectory() ? walk(abs) : [abs];
    for (const f of files) {
      if (ig.ignores(rel(f))) problems.push(`${line}: COPY ${src}: ${rel(f)} is left out by .dockerignore`);
      else sent.add(rel(f));
    }
  }
  // Files the crate reads at compile time.
  const inCopy = (p) => copies.some(({ src }) => p == src || p.startsWith(`${src}/`));
  for (const f of walk(path.join(root, 'src')).filter((f) => f.endsWith('.rs'))) {
    for (const m of read(f).matchAll(/include_(?:str|bytes)!\(\s*"([^"]+)"\s*\)/g)) {
      const target = rel(path.resolve(path.dirname(f), m[1]));
      if (!inCopy(target) || ig.ignores(target)) {
        problems.push(`${rel(f)}: include of ${target}, which the Dockerfile does not COPY (or .dockerignore leaves out)`);
      }
    }
  }
  for (const p of ['.env', 'examples/compose/.env', 'src/.env', 'templates/.env.local', 'target/release/pskeys', '.git/HEAD', 'tests/interop/node_modules/jose/package.json', 'README.md']) {
    if (!ig.ignores(p)) problems.push(`.dockerignore sends ${p} to the builder`);
  }
  return { problems, notes: [`${sent.size} files in the build context`] };
}

// --- compose.yaml ---
let composeValidator;
function composeSchemaValidator() {
  if (composeValidator) return composeValidator;
  const schema = JSON.parse(read(path.join(here, 'vendor/compose-spec.json')));
  // The spec names its meta-schema by https; ajv ships draft-07 under http.
  const draft7 = require('ajv/dist/refs/json-schema-draft-07.json');
  const ajv = new AJV.Ajv({ allErrors: true, allowUnionTypes: true, strictTypes: false });
  ajv.addMetaSchema({ ...draft7, $id: schema.$schema });
  composeValidator = ajv.compile(schema);
  return composeValidator;
}

const asList = (v) => (v == null ? [] : Array.isArray(v) ? v : [v]);
const envOf = (svc) =>
  Array.isArray(svc.environment)
    ? Object.fromEntries(svc.environment.map((e) => [e.split('=')[0], e.split('=').slice(1).join('=')]))
    : { ...(svc.environment ?? {}) };
const commandOf = (svc) => (Array.isArray(svc.command) ? svc.command : String(svc.command ?? '').split(/\s+/).filter(Boolean));
const optionOf = (args, name) => {
  const i = args.indexOf(name);
  if (i >= 0) return args[i + 1];
  return args.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
};

// "[host_ip:]published:target[/proto]" or the long form, as {hostIp, published, target}.
function portsOf(svc) {
  return asList(svc.ports).map((p) => {
    if (typeof p == 'object') return { hostIp: p.host_ip, published: String(p.published ?? ''), target: String(p.target) };
    const parts = String(p).replace(/\/\w+$/, '').split(':');
    const target = parts.pop();
    const published = parts.pop() ?? '';
    return { hostIp: parts.join(':') || undefined, published, target };
  });
}

// "source:target[:mode]" bind mounts and named volumes, as {source, target}.
function volumesOf(svc) {
  return asList(svc.volumes).map((v) => {
    if (typeof v == 'object') return { source: v.source, target: v.target };
    const [source, target] = v.split(':');
    return { source, target };
  });
}

function checkCompose(dockerfileFacts, dotenvExample) {
  const problems = [];
  const file = path.join(example, 'compose.yaml');
  const doc = yaml.parseDocument(read(file));
  if (doc.errors.length) return { problems: doc.errors.map((e) => `compose.yaml: ${e.message}`) };
  const compose = doc.toJS();
  const validate = composeSchemaValidator();
  if (!validate(compose)) {
    for (const e of validate.errors) problems.push(`compose.yaml${e.instancePath}: ${e.message} ${JSON.stringify(e.params)}`);
  }
  const services = compose.services ?? {};
  const names = Object.keys(services);
  for (const [name, svc] of Object.entries(services)) {
    const deps = Array.isArray(svc.depends_on) ? svc.depends_on : Object.keys(svc.depends_on ?? {});
    for (const d of deps) if (!names.includes(d)) problems.push(`services.${name}.depends_on: no service ${d}`);
    for (const { source } of volumesOf(svc)) {
      if (source?.startsWith('.') && !fs.existsSync(path.resolve(example, source))) {
        problems.push(`services.${name}.volumes: ${source} does not exist`);
      }
      if (source && !source.startsWith('.') && !source.startsWith('/') && !(source in (compose.volumes ?? {}))) {
        problems.push(`services.${name}.volumes: named volume ${source} is not declared`);
      }
    }
    if (svc.image && !svc.build && !/:[\w][\w.-]*$/.test(svc.image.split('/').at(-1))) {
      problems.push(`services.${name}.image ${svc.image}: pin a tag`);
    }
  }

  // The PowerSync Service: a pinned release, reading this folder's powersync.yaml.
  const [psName, ps] = Object.entries(services).find(([, s]) => s.image?.startsWith('journeyapps/powersync-service')) ?? [];
  if (!ps) return { problems: [...problems, 'no journeyapps/powersync-service service'] };
  if (!/:\d+\.\d+\.\d+$/.test(ps.image)) problems.push(`services.${psName}.image ${ps.image}: pin a release (x.y.z)`);
  const configPath = envOf(ps).POWERSYNC_CONFIG_PATH;
  const configMount = volumesOf(ps).find(({ target }) => configPath?.startsWith(`${target}/`));
  const configFile = configMount && path.resolve(example, configMount.source, path.posix.relative(configMount.target, configPath));
  if (!configFile || configFile != path.join(example, 'powersync.yaml')) {
    problems.push(`services.${psName}: POWERSYNC_CONFIG_PATH ${configPath} is not examples/compose/powersync.yaml through a mount`);
  }
  if (!asList(ps.env_file).some((e) => (typeof e == 'string' ? e : e.path) == '.env')) {
    problems.push(`services.${psName}: no env_file .env (the PS_ variables pskeys init writes)`);
  }

  // pskeys serve: built from the repository's Dockerfile, the example mounted at WORKDIR.
  const config = yaml.parseDocument(read(path.join(example, 'powersync.yaml')), { customTags: [{ tag: '!env', resolve: (s) => `!env ${s}` }] }).toJS();
  const uris = asList(config.client_auth?.jwks_uri);
  if (uris.length == 0) problems.push('powersync.yaml: no client_auth.jwks_uri pointing at pskeys serve');
  for (const uri of uris) {
    const url = new URL(uri);
    const svc = services[url.hostname];
    if (!svc) {
      problems.push(`powersync.yaml: jwks_uri ${uri}: ${url.hostname} is not a compose service`);
      continue;
    }
    const args = commandOf(svc);
    const port = optionOf(args, '--port') ?? '6060';
    if (args[0] != 'serve') problems.push(`services.${url.hostname}: command ${args.join(' ')} is not \`serve\``);
    if (!['/.well-known/jwks.json', '/api/auth/keys'].includes(url.pathname)) problems.push(`jwks_uri ${uri}: not a path pskeys serve answers`);
    if ((url.port || '80') != port) problems.push(`jwks_uri ${uri}: port ${url.port || 80}, pskeys serve listens on ${port}`);
    // On a loopback address serve answers only local Host names: not `pskeys:6060`.
    if (!['0.0.0.0', '::', '[::]'].includes(optionOf(args, '--host'))) {
      problems.push(`services.${url.hostname}: serve --host must be 0.0.0.0: other containers cannot reach a loopback address, and serve refuses Host ${url.host} there`);
    }
    const context = path.resolve(example, svc.build?.context ?? svc.build ?? '.');
    if (!svc.build || context != root || (svc.build.dockerfile ?? 'Dockerfile') != 'Dockerfile') {
      problems.push(`services.${url.hostname}: build it from the repository's Dockerfile (context ../..)`);
    }
    const mount = volumesOf(svc).find(({ target }) => target == dockerfileFacts.workdir);
    if (!mount || path.resolve(example, mount.source) != example) {
      problems.push(`services.${url.hostname}: mount the example folder at ${dockerfileFacts.workdir} (the image's WORKDIR), where serve finds powersync.yaml and .env`);
    }
    if ((svc.working_dir ?? dockerfileFacts.workdir) != dockerfileFacts.workdir) {
      problems.push(`services.${url.hostname}: working_dir ${svc.working_dir} is not the mount`);
    }
    for (const p of portsOf(svc)) {
      if (p.published && p.hostIp != '127.0.0.1') {
        problems.push(`services.${url.hostname}: port ${p.published} published on ${p.hostIp ?? 'every interface'}: anyone who reaches it gets tokens; use 127.0.0.1`);
      }
    }
  }

  // .env.example: database URIs naming compose services, with their credentials.
  for (const [key, value] of Object.entries(dotenvExample)) {
    if (!/^postgres(ql)?:\/\//.test(value)) continue;
    const url = new URL(value);
    const db = services[url.hostname];
    if (!db) {
      problems.push(`.env.example: ${key} names host ${url.hostname}, not a compose service`);
      continue;
    }
    const env = envOf(db);
    const want = { user: env.POSTGRES_USER ?? 'postgres', password: env.POSTGRES_PASSWORD, db: env.POSTGRES_DB ?? env.POSTGRES_USER ?? 'postgres', port: env.PGPORT ?? '5432' };
    const have = { user: decodeURIComponent(url.username), password: decodeURIComponent(url.password), db: url.pathname.slice(1), port: url.port || '5432' };
    for (const k of Object.keys(want)) {
      if (want[k] != have[k]) problems.push(`.env.example: ${key}'s ${k} is ${have[k]}, services.${url.hostname} has ${want[k]}`);
    }
  }
  const sourceHost = new URL(dotenvExample.PS_DATA_SOURCE_URI ?? 'postgresql://missing').hostname;
  const source = services[sourceHost];
  if (!source) {
    problems.push('.env.example: PS_DATA_SOURCE_URI missing or not a compose service');
  } else {
    if (!commandOf(source).some((a) => a.replace(/\s/g, '') == 'wal_level=logical')) {
      problems.push(`services.${sourceHost}: no -c wal_level=logical (the service replicates through logical replication)`);
    }
    const init = volumesOf(source).find(({ target }) => target == '/docker-entrypoint-initdb.d');
    const sql = init ? walk(path.resolve(example, init.source)).filter((f) => f.endsWith('.sql')).map(read).join('\n') : '';
    if (!/create\s+publication\s+powersync\b/i.test(sql)) problems.push(`services.${sourceHost}: no init script creates the publication \`powersync\``);
  }

  // Ports: PS_PORT is what the service listens on, published and probed.
  const port = dotenvExample.PS_PORT;
  if (!portsOf(ps).some((p) => p.target == port && p.published == port)) {
    problems.push(`services.${psName}.ports: publish ${port}:${port} (PS_PORT in .env.example; pskeys serve returns endpoint http://localhost:${port})`);
  }
  if (!JSON.stringify(ps.healthcheck?.test ?? '').includes(`localhost:${port}/`)) {
    problems.push(`services.${psName}.healthcheck: does not probe port ${port}`);
  }
  return { problems, notes: [`services: ${names.join(', ')}`, `${psName}: ${ps.image}`] };
}

// --- the sync config, with the service's parser, against pg-init's tables ---
function tablesFromSql(sql) {
  const tables = [];
  for (const m of sql.matchAll(/create\s+table\s+(?:(\w+)\.)?(\w+)\s*\(([\s\S]*?)\);/gi)) {
    const columns = m[3]
      .split('\n')
      .map((l) => l.replace(/--.*$/, '').trim().replace(/,$/, ''))
      .filter((l) => l && !/^(constraint|primary|unique|foreign|check)\b/i.test(l))
      .map((l) => l.split(/\s+/))
      .map(([name, type]) => ({ name, pg_type: type }));
    tables.push({ schema: m[1] ?? 'public', name: m[2], columns });
  }
  return tables;
}

function checkSync() {
  const problems = [];
  const config = yaml.parseDocument(read(path.join(example, 'powersync.yaml')), { customTags: [{ tag: '!env', resolve: (s) => s }] }).toJS();
  const syncPath = (config.sync_config ?? config.sync_rules)?.path;
  if (!syncPath) return { problems: ['powersync.yaml names no sync config file'] };
  const file = path.resolve(example, syncPath);
  if (!fs.existsSync(file)) return { problems: [`powersync.yaml: sync config ${syncPath} does not exist`] };
  const initDir = path.join(example, 'pg-init');
  const tables = fs.existsSync(initDir) ? walk(initDir).filter((f) => f.endsWith('.sql')).flatMap((f) => tablesFromSql(read(f))) : [];
  const schemas = [...new Set(tables.map((t) => t.schema))].map((name) => ({
    name,
    tables: tables.filter((t) => t.schema == name).map(({ name, columns }) => ({ name, columns }))
  }));
  const schema = new StaticSchema([{ tag: DEFAULT_TAG, schemas }]);
  const parsed = SqlSyncRules.fromYaml(read(file), { defaultSchema: 'public', schema, throwOnError: false });
  for (const e of parsed.errors) problems.push(`${syncPath}: ${e.type}: ${e.message}`);
  return { problems, notes: [`tables from pg-init: ${tables.map((t) => `${t.schema}.${t.name}`).join(', ')}`] };
}

// --- run ---
function dotenvLiteral(text) {
  const out = {};
  for (const line of text.split('\n')) {
    const m = line.match(/^([A-Za-z_]\w*)=(.*)$/);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

const emit = (check, result) => console.log(JSON.stringify({ root, check, problems: result.problems, notes: result.notes ?? [] }));
const guard = (f) => {
  try {
    return f();
  } catch (e) {
    return { problems: [`threw: ${e.stack ?? e}`] };
  }
};
const version = (pkg) => JSON.parse(read(path.join(here, 'node_modules', pkg, 'package.json'))).version;

function lint() {
  const cargo = cargoPackage();
  const dockerfile = guard(() => checkDockerfile(read(path.join(root, 'Dockerfile')), cargo));
  emit('dockerfile', dockerfile);
  const facts = dockerfile.facts ?? {};
  emit('context', guard(() => checkContext(facts.copies ?? [])));
  emit('compose', guard(() => checkCompose(facts, dotenvLiteral(read(path.join(example, '.env.example'))))));
  emit('sync', guard(() => checkSync()));
  console.log(
    JSON.stringify({
      root,
      versions: Object.fromEntries(
        ['dockerfile-utils', 'dockerfile-ast', '@balena/dockerignore', 'ajv', 'yaml', '@powersync/service-sync-rules'].map((p) => [p, version(p)])
      ),
      compose_spec: JSON.parse(read(path.join(here, 'vendor/compose-spec.json'))).title,
      builder: facts.builderImage,
      runtime: facts.runtimeImage,
      copies: (facts.copies ?? []).map((c) => c.src)
    })
  );
}

const roots = process.argv.flatMap((a, i) => (process.argv[i - 1] == '--root' ? [path.resolve(a)] : []));
for (const dir of roots.length ? roots : [root]) {
  root = dir;
  example = path.join(root, 'examples/compose');
  lint();
}
