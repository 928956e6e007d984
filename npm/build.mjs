#!/usr/bin/env node
// Assembles the npm packages of pskeys, biome/esbuild style: `pskeys` (a small JS launcher,
// npm/pskeys/) with optionalDependencies on one package per platform, `@pskeys/<os>-<arch>[-<libc>]`,
// each holding that platform's prebuilt binary and declaring os/cpu(/libc) so npm installs
// only the one that fits. No install script, no download at install time.
//
// Versions come from Cargo.toml's [package] version, so the packages never drift from the crate.
//
//   node npm/build.mjs platform --target <triple> --binary <path> --out <dir>
//       writes <dir>/<os>-<arch>[-<libc>]/ (package.json, bin/pskeys[.exe], README, licenses)
//       and prints that directory
//   node npm/build.mjs launcher --out <dir>
//       writes <dir>/pskeys/ (npm/pskeys with the version and optionalDependencies set)
//   node npm/build.mjs check [--version <v>]
//       fails unless npm/pskeys/package.json agrees with Cargo.toml (and with <v>, e.g. a tag)
//   node npm/build.mjs sync
//       rewrites npm/pskeys/package.json's versions from Cargo.toml (after a version bump)
//   node npm/build.mjs targets
//       prints the target table as JSON
//
// Publishing (.github/workflows/publish-npm.yml): every platform package first, the launcher last.
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const LAUNCHER_DIR = join(ROOT, "npm", "pskeys");
const SCOPE = "@pskeys";

// Rust target triple -> npm platform package. The set matches the dist targets
// (dist-workspace.toml) and the launcher's PACKAGES (npm/pskeys/bin/pskeys.js).
export const TARGETS = {
  "aarch64-apple-darwin": { key: "darwin-arm64", os: "darwin", cpu: "arm64", label: "macOS arm64 (Apple silicon)" },
  "x86_64-apple-darwin": { key: "darwin-x64", os: "darwin", cpu: "x64", label: "macOS x64" },
  "aarch64-unknown-linux-gnu": { key: "linux-arm64-gnu", os: "linux", cpu: "arm64", libc: "glibc", label: "Linux arm64 (glibc)" },
  "aarch64-unknown-linux-musl": { key: "linux-arm64-musl", os: "linux", cpu: "arm64", libc: "musl", label: "Linux arm64 (musl, static)" },
  "x86_64-unknown-linux-gnu": { key: "linux-x64-gnu", os: "linux", cpu: "x64", libc: "glibc", label: "Linux x64 (glibc)" },
  "x86_64-unknown-linux-musl": { key: "linux-x64-musl", os: "linux", cpu: "x64", libc: "musl", label: "Linux x64 (musl, static)" },
  "x86_64-pc-windows-msvc": { key: "win32-x64", os: "win32", cpu: "x64", label: "Windows x64" },
};

export const packageName = (target) => `${SCOPE}/${TARGETS[target].key}`;

/** The string fields of Cargo.toml's [package] table (enough TOML for this file). */
export function cargoPackage(path = join(ROOT, "Cargo.toml")) {
  const fields = {};
  let inPackage = false;
  for (const raw of readFileSync(path, "utf8").split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith("[")) {
      inPackage = line === "[package]";
      continue;
    }
    const m = inPackage && /^([A-Za-z0-9_-]+)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(#.*)?$/.exec(line);
    if (m) fields[m[1]] = m[2];
  }
  if (!fields.version) throw new Error(`${path}: no [package] version`);
  return fields;
}

function readJson(path) {
  return JSON.parse(readFileSync(path, "utf8"));
}

function writeJson(path, value) {
  writeFileSync(path, JSON.stringify(value, null, 2) + "\n");
}

/** The launcher's package.json with every version taken from Cargo.toml. */
function launcherManifest(version) {
  const manifest = readJson(join(LAUNCHER_DIR, "package.json"));
  manifest.version = version;
  manifest.optionalDependencies = Object.fromEntries(
    Object.keys(TARGETS)
      .map(packageName)
      .sort()
      .map((name) => [name, version]),
  );
  return manifest;
}

function copyCommon(dir) {
  for (const file of ["LICENSE-MIT", "LICENSE-APACHE"]) copyFileSync(join(ROOT, file), join(dir, file));
}

function fresh(dir) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
}

export function buildPlatform({ target, binary, out }) {
  const t = TARGETS[target];
  if (!t) throw new Error(`unknown target ${target}; known: ${Object.keys(TARGETS).join(", ")}`);
  if (!binary || !existsSync(binary)) throw new Error(`--binary ${binary}: no such file`);
  const cargo = cargoPackage();
  const dir = join(resolve(out), t.key);
  fresh(join(dir, "bin"));
  const exe = t.os === "win32" ? "pskeys.exe" : "pskeys";
  copyFileSync(binary, join(dir, "bin", exe));
  chmodSync(join(dir, "bin", exe), 0o755);
  copyCommon(dir);
  const name = packageName(target);
  const manifest = {
    name,
    version: cargo.version,
    description: `The pskeys binary for ${t.label} (${target}). Install the \`pskeys\` package, which runs it.`,
    homepage: cargo.homepage,
    repository: cargo.repository ? { type: "git", url: `git+${cargo.repository}.git` } : undefined,
    license: cargo.license,
    os: [t.os],
    cpu: [t.cpu],
    ...(t.libc ? { libc: [t.libc] } : {}),
    files: [`bin/${exe}`, "LICENSE-APACHE", "LICENSE-MIT"],
    preferUnplugged: true,
  };
  writeJson(join(dir, "package.json"), manifest);
  writeFileSync(
    join(dir, "README.md"),
    `# ${name}\n\nThe \`pskeys\` ${cargo.version} binary for ${t.label}, \`${target}\`.\n\n` +
      "Don't install this package directly: install [`pskeys`](https://www.npmjs.com/package/pskeys)\n" +
      "(`npx pskeys init`), which depends on the package of every platform and runs this one.\n",
  );
  return dir;
}

export function buildLauncher({ out }) {
  const { version } = cargoPackage();
  const dir = join(resolve(out), "pskeys");
  fresh(join(dir, "bin"));
  copyFileSync(join(LAUNCHER_DIR, "bin", "pskeys.js"), join(dir, "bin", "pskeys.js"));
  chmodSync(join(dir, "bin", "pskeys.js"), 0o755);
  copyFileSync(join(LAUNCHER_DIR, "README.md"), join(dir, "README.md"));
  copyCommon(dir);
  writeJson(join(dir, "package.json"), launcherManifest(version));
  return dir;
}

/** Where npm/pskeys/package.json disagrees with Cargo.toml (and `expected`, if given). */
export function check(expected) {
  const { version } = cargoPackage();
  const problems = [];
  if (expected !== undefined && expected !== version) {
    problems.push(`Cargo.toml has version ${version}, the release is ${expected}`);
  }
  const actual = readJson(join(LAUNCHER_DIR, "package.json"));
  const want = launcherManifest(version);
  if (actual.version !== want.version) {
    problems.push(`npm/pskeys/package.json: version ${actual.version}, Cargo.toml ${version}`);
  }
  if (JSON.stringify(actual.optionalDependencies) !== JSON.stringify(want.optionalDependencies)) {
    problems.push(
      `npm/pskeys/package.json: optionalDependencies ${JSON.stringify(actual.optionalDependencies)}, ` +
        `expected ${JSON.stringify(want.optionalDependencies)}`,
    );
  }
  return problems;
}

function parseArgs(argv) {
  const opts = {};
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z-]+)$/.exec(argv[i]);
    if (!m || i + 1 >= argv.length) throw new Error(`bad argument ${argv[i]}`);
    opts[m[1]] = argv[++i];
  }
  return opts;
}

function main() {
  const [command, ...rest] = process.argv.slice(2);
  const opts = parseArgs(rest);
  switch (command) {
    case "platform":
      console.log(buildPlatform(opts));
      break;
    case "launcher":
      console.log(buildLauncher(opts));
      break;
    case "check": {
      const problems = check(opts.version);
      for (const p of problems) console.error(`error: ${p}`);
      if (problems.length > 0) {
        console.error("run `node npm/build.mjs sync` after changing Cargo.toml's version");
        process.exit(1);
      }
      console.log(`npm/pskeys/package.json agrees with Cargo.toml (${cargoPackage().version})`);
      break;
    }
    case "sync":
      writeJson(join(LAUNCHER_DIR, "package.json"), launcherManifest(cargoPackage().version));
      break;
    case "targets":
      console.log(
        JSON.stringify(
          Object.fromEntries(Object.entries(TARGETS).map(([t, v]) => [t, { ...v, package: packageName(t) }])),
          null,
          2,
        ),
      );
      break;
    default:
      console.error("usage: node npm/build.mjs platform|launcher|check|sync|targets [--option value]...");
      process.exit(2);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main();
  } catch (e) {
    console.error(`error: ${e.message}`);
    process.exit(1);
  }
}
