// The PowerSync Service v1.25.0's config loading, with the service's own code where npm
// has it: shared by config-check.mjs (does it load?) and verify.mjs (what does it hold?).
//
//
//   parse   ConfigCollector.parseContent: yaml 2.8 (core schema, the service's `!env` tag,
//           copied verbatim from yaml-env.ts) or JSON, by file extension.
//   decode  configFile.powerSyncConfig.decode (npm @powersync/service-types 0.17.0, the
//           version service v1.25.0 ships).
//   schema  configFile.PowerSyncConfigJSONSchema through ajv 8.18 with the options and the
//           `nodeType` keyword of lib-services-framework's createSchemaValidator (that
//           package is not on npm), then the sync_config/sync_rules rule (stage `sync`).
//   resolve CompoundConfigCollector.collectConfig's own offline checks: one replication
//           connection at most; api.parameters TTLs positive integers.
//   keys    StaticKeyCollector.importKeys: jose 4.15.9 importJWK of each static key, and
//           of the Supabase legacy secret.
//   jwks    RemoteJWKSCollector's constructor for each jwks_uri: new URL (PSYNC_S3102),
//           http(s) only (PSYNC_S3103), and lib-services' validateIpHostname for IP
//           literals (PSYNC_S2202/S2203), with ipaddr.js 2.2.
// Left out, because they need the network or a database: fetching a JWKS, resolving a
// jwks_uri hostname, the storage and replication modules' connection checks (e.g. a
// `${…}` connection uri is refused by the Postgres module's normalizeConnectionConfig
// with PSYNC_S1109 when the module initialises, after the config has loaded), and
// reading the sync config file.
//
// usage: node config-check.mjs <config> <env-file or -> [<config> <env-file or -> ...]
// Each config sees the process environment over its .env file (as pskeys does).
// Prints one JSON line per config: {"loads":true} or
// {"loads":false,"stage":"parse|decode|schema|sync|resolve|keys|jwks","message":...}.
import fs from 'node:fs';
import dotenv from 'dotenv';
import net from 'node:net';
import AJV from 'ajv';
import * as ajv from 'ajv';
import AjvErrorFormatter from 'better-ajv-errors';
import ip from 'ipaddr.js';
import * as jose from 'jose';
import * as yaml from 'yaml';
import { configFile } from '@powersync/service-types';

// --- service-core/src/util/config/collectors/impl/yaml-env.ts (verbatim but for types) ---
const YAML_ENV_PREFIX = 'PS_';
const YamlEnvTag = {
  tag: '!env',
  resolve(envName, onError) {
    if (!envName.startsWith(YAML_ENV_PREFIX)) {
      onError(
        `Attempting to substitute environment variable ${envName} is not allowed. Variables must start with "${YAML_ENV_PREFIX}"`
      );
      return envName;
    }
    const [name, type = 'string'] = envName.split('::');
    let value = process.env[name];
    if (typeof value == 'undefined') {
      onError(
        `Attempted to substitute environment variable "${envName}" which is undefined. Set this variable on the environment.`
      );
      return envName;
    }
    switch (type) {
      case 'string':
        return value;
      case 'number':
        const numberValue = Number(value);
        if (Number.isNaN(numberValue)) {
          onError(`Environment variable "${envName}" is not a valid number. Got: "${value}".`);
          return envName;
        }
        return numberValue;
      case 'boolean':
        if (value?.toLowerCase() == 'true') {
          return true;
        } else if (value?.toLowerCase() == 'false') {
          return false;
        } else {
          onError(`Environment variable "${envName}" is not a boolean. Expected "true" or "false", got "${value}".`);
          return envName;
        }
      default:
        onError(`Environment variable "${envName}" has an invalid type suffix "${type}".`);
        return envName;
    }
  }
};

// --- lib-services/src/schema/json-schema/keywords.ts (verbatim but for types) ---
const BufferNodeType = {
  keyword: 'nodeType',
  metaSchema: { type: 'string', enum: ['bigint', 'buffer', 'date'] },
  error: {
    message: ({ schemaCode }) => ajv.str`should be a ${schemaCode}`
  },
  code(context) {
    switch (context.schema) {
      case 'bigint':
        return context.fail(ajv._`typeof ${context.data} != 'bigint'`);
      case 'buffer':
        return context.fail(ajv._`!Buffer.isBuffer(${context.data})`);
      case 'date':
        return context.fail(ajv._`!(${context.data} instanceof Date)`);
      default:
        context.fail(ajv._`true`);
    }
  }
};

// --- lib-services/src/schema: parseJSONSchema(schema).validator() with no params ---
// compile() puts the root definitions in and prunes the unused ones (pruning changes
// nothing that validates); createSchemaValidator uses allErrors and the keyword above.
function configSchemaValidator() {
  const schema = configFile.PowerSyncConfigJSONSchema;
  const validator = new AJV.Ajv({ allErrors: true, keywords: [BufferNodeType] }).compile(schema);
  return (data) => {
    if (validator(data)) return { valid: true };
    const errors = AjvErrorFormatter(schema, data, validator.errors || [], { format: 'js' })?.map((e) => e.error);
    return { valid: false, errors: errors || [] };
  };
}
const validate = configSchemaValidator();

// --- lib-services/src/ip/lookup.ts: validateIpHostname, hostnameFromSocketAddress ---
class ServiceError extends Error {
  constructor(code, message) {
    super(`[${code}] ${message}`);
    this.code = code;
  }
}

function validateIpHostname(hostname, options) {
  const { reject_ip_ranges: reject_ranges } = options;
  if (!ip.isValid(hostname)) return; // a DNS name: checked when it is resolved
  const parsed = ip.parse(hostname);
  const rejectLocal = reject_ranges.includes('local');
  const rejectSubnets = reject_ranges.filter((range) => range != 'local');
  const reject = { blocked: (rejectSubnets ?? []).map((r) => ip.parseCIDR(r)) };
  if (options.reject_ipv6 && parsed.kind() == 'ipv6') {
    throw new ServiceError('PSYNC_S2202', 'IPv6 support not enabled for JWKS URI');
  }
  if (ip.subnetMatch(parsed, reject) == 'blocked') {
    throw new ServiceError('PSYNC_S2203', `IPs in this range are not supported: ${hostname}`);
  }
  if (!rejectLocal) return;
  if (parsed.range() == 'unicast') return;
  throw new ServiceError('PSYNC_S2203', `IPs in this range are not supported: ${hostname}`);
}

function hostnameFromSocketAddress(socketAddress) {
  if (net.SocketAddress.parse) {
    const parsed = net.SocketAddress.parse(socketAddress);
    return parsed != null ? parsed.address : socketAddress;
  }
  // Node < 22.13 has no SocketAddress.parse; for a URL's hostname it returns the IP
  // literal without brackets, and undefined (so the input) for anything else.
  const unbracketed = socketAddress.replace(/^\[(.*)\]$/, '$1');
  return net.isIP(unbracketed) ? unbracketed : socketAddress;
}

// --- the stages ---
class Refused extends Error {
  constructor(stage, message) {
    super(message);
    this.stage = stage;
  }
}

function stage(name, f) {
  try {
    return f();
  } catch (e) {
    throw e instanceof Refused ? e : new Refused(name, e.message);
  }
}

async function stageAsync(name, f) {
  try {
    return await f();
  } catch (e) {
    throw new Refused(name, e.message);
  }
}

// ConfigCollector.parseContent, with FileSystemConfigCollector's choice of format.
function parseContent(path, content) {
  const parseYaml = () => {
    const parsed = yaml.parseDocument(content, {
      schema: 'core',
      keepSourceTokens: true,
      lineCounter: new yaml.LineCounter(),
      customTags: [YamlEnvTag]
    });
    if (parsed.errors.length) {
      throw new Error(`Could not parse YAML configuration file. Received errors: \n ${parsed.errors.map((e) => e.message).join('\n')}`);
    }
    return parsed.toJS();
  };
  if (path.endsWith('.yaml') || path.endsWith('.yml')) return parseYaml();
  if (path.endsWith('.json')) return JSON.parse(content);
  try {
    return parseYaml();
  } catch {
    return JSON.parse(content);
  }
}

// ConfigCollector.collect: decode, then validate the decoded config.
function collect(serialized) {
  const decoded = stage('decode', () => configFile.powerSyncConfig.decode(serialized));
  stage('schema', () => {
    const valid = validate(decoded);
    if (!valid.valid) throw new Error(`Failed to validate PowerSync config: ${valid.errors.join(', ')}`);
  });
  stage('sync', () => {
    if (decoded.sync_config && decoded.sync_rules) {
      throw new Error('Both `sync_config` and `sync_rules` are present in the service configuration.');
    }
  });
  return decoded;
}

function positiveInteger(value, setting) {
  const normalized = value ?? 60;
  if (!Number.isFinite(normalized) || !Number.isInteger(normalized) || normalized < 1) {
    throw new Error(`${setting} must be a positive integer`);
  }
}

// CompoundConfigCollector.collectConfig, in its order, without the network.
async function collectConfig(config) {
  stage('resolve', () => {
    if ((config.replication?.connections ?? []).length > 1) {
      throw new Error('Only a single replication data source is supported currently');
    }
  });
  const auth = config.client_auth;
  await stageAsync('keys', async () => {
    await Promise.all((auth?.jwks?.keys ?? []).map((key) => jose.importJWK(key)));
    if (auth?.supabase && auth?.supabase_jwt_secret != null) {
      const k = Buffer.from(auth.supabase_jwt_secret, 'utf8').toString('base64url');
      await jose.importJWK({ kty: 'oct', alg: 'HS256', k, kid: undefined });
    }
  });
  stage('jwks', () => {
    let uris = auth?.jwks_uri ?? [];
    if (typeof uris == 'string') uris = [uris];
    let lookup = { reject_ip_ranges: [] };
    if (auth?.jwks_reject_ip_ranges != null) lookup = { reject_ip_ranges: auth.jwks_reject_ip_ranges };
    if (auth?.block_local_jwks) {
      lookup.reject_ip_ranges.push('local');
      lookup.reject_ipv6 = true;
    }
    for (const uri of uris) {
      let url;
      try {
        url = new URL(uri);
      } catch (e) {
        throw new ServiceError('PSYNC_S3102', `Invalid jwks_uri: ${JSON.stringify(uri)} Details: ${e.message}`);
      }
      if (url.protocol != 'https:' && url.protocol != 'http:') {
        throw new ServiceError('PSYNC_S3103', `Only http(s) is supported for jwks_uri, got: ${JSON.stringify(uri)}`);
      }
      validateIpHostname(hostnameFromSocketAddress(url.hostname), lookup);
    }
  });
  stage('resolve', () => {
    positiveInteger(config.api?.parameters?.bucket_count_cache_ttl_minutes, 'api.parameters.bucket_count_cache_ttl_minutes');
    positiveInteger(config.api?.parameters?.checkpoint_request_retention_minutes, 'api.parameters.checkpoint_request_retention_minutes');
  });
}

// .env as node's dotenv reads it.
function readEnv(path) {
  if (!path || path == '-' || !fs.existsSync(path)) return {};
  return dotenv.parse(fs.readFileSync(path));
}

// Loads the config at `path` as the service would with the process environment over the
// .env file at `envPath`: the decoded config, or a thrown Refused {stage, message}.
export async function loadConfig(path, envPath) {
  const processEnv = { ...process.env };
  process.env = { ...readEnv(envPath), ...processEnv };
  try {
    const serialized = stage('parse', () => parseContent(path, fs.readFileSync(path, 'utf8')));
    if (!serialized) {
      // ConfigCollector.collect returns null; the next collector finds nothing either.
      throw new Refused('parse', 'the config is empty: PowerSyncConfig could not be collected');
    }
    const config = collect(serialized);
    await collectConfig(config);
    return config;
  } finally {
    process.env = processEnv;
  }
}

export { Refused };
