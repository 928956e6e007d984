#!/usr/bin/env node
// The `pskeys` command of the npm package: runs the prebuilt binary from the platform
// package npm installed next to this one (an optionalDependency that matched this
// machine's os/cpu/libc; nothing is downloaded at install or run time), with the same
// arguments, stdin/stdout/stderr, exit code and terminating signal.
//
// PSKEYS_BINARY=/path/to/pskeys runs that binary instead.
// Exit code 127: no binary for this platform, or it could not be started.
"use strict";

const { spawn } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");

// process.platform-process.arch[-libc] -> package. Keep in sync with TARGETS in
// npm/build.mjs and the optionalDependencies of package.json (tests/install.rs checks).
const PACKAGES = {
  "darwin-arm64": "@pskeys/darwin-arm64",
  "darwin-x64": "@pskeys/darwin-x64",
  "linux-arm64-gnu": "@pskeys/linux-arm64-gnu",
  "linux-arm64-musl": "@pskeys/linux-arm64-musl",
  "linux-x64-gnu": "@pskeys/linux-x64-gnu",
  "linux-x64-musl": "@pskeys/linux-x64-musl",
  "win32-x64": "@pskeys/win32-x64",
};

/** "glibc", "musl", or null when it cannot tell (Linux only). */
function linuxLibc() {
  try {
    if (process.report) {
      process.report.excludeNetwork = true; // faster, and no DNS lookups
      const report = process.report.getReport();
      if (report.header && report.header.glibcVersionRuntime) return "glibc";
      const libs = report.sharedObjects || [];
      if (libs.some((f) => f.includes("ld-musl-") || f.includes("libc.musl-"))) return "musl";
    }
  } catch {
    // fall through to ldd
  }
  try {
    return fs.readFileSync("/usr/bin/ldd", "latin1").includes("musl") ? "musl" : "glibc";
  } catch {
    return null;
  }
}

/** The platform keys to try, best first, and a human name of this platform. */
function candidates() {
  const base = `${process.platform}-${process.arch}`;
  if (process.platform !== "linux") return { keys: [base], name: base };
  const libc = linuxLibc();
  // The musl builds are static and run on glibc systems too (e.g. when a package
  // manager that ignores the `libc` field installed only them); glibc builds need glibc.
  const keys = libc === "musl" ? [`${base}-musl`] : [`${base}-gnu`, `${base}-musl`];
  return { keys, name: `${base} (${libc || "unknown"} libc)` };
}

function findBinary() {
  if (process.env.PSKEYS_BINARY) return process.env.PSKEYS_BINARY;
  const exe = process.platform === "win32" ? "pskeys.exe" : "pskeys";
  const { keys, name } = candidates();
  for (const key of keys) {
    const pkg = PACKAGES[key];
    if (!pkg) continue;
    try {
      return require.resolve(`${pkg}/bin/${exe}`);
    } catch {
      // not installed: try the next one
    }
  }
  const wanted = keys.map((k) => PACKAGES[k]).filter(Boolean);
  const install =
    process.platform === "win32"
      ? "$env:AWS_LC_SYS_NO_JITTER_ENTROPY=1; cargo install --locked pskeys   # PowerShell"
      : "AWS_LC_SYS_NO_JITTER_ENTROPY=1 cargo install --locked pskeys";
  const lines = [`pskeys: no pskeys binary for this platform, ${name}.`];
  if (wanted.length > 0) {
    lines.push(
      `  Its npm package ${wanted.join(" or ")} is not installed: npm skips optional`,
      "  dependencies with --omit=optional (or --no-optional), and a package-lock.json made",
      "  on another OS may lack it. Reinstall without that option (delete node_modules and",
      "  package-lock.json first if the lockfile is the cause).",
    );
  } else {
    lines.push(`  Prebuilt binaries exist for: ${Object.keys(PACKAGES).join(", ")}.`);
  }
  lines.push(
    "  Or build it from source (Rust 1.89 or later, https://rustup.rs):",
    `    ${install}`,
    "  and run `pskeys` directly, or point PSKEYS_BINARY at a pskeys binary.",
  );
  process.stderr.write(lines.join("\n") + "\n");
  process.exit(127);
}

function run() {
  const binary = findBinary();
  const child = spawn(binary, process.argv.slice(2), { stdio: "inherit" });

  // SIGINT and SIGQUIT come from the terminal, which sends them to the whole foreground
  // process group: the binary gets its own copy. Forwarding it would deliver it twice,
  // and `pskeys serve` takes a second Ctrl-C as "stop now, don't wait". So this process
  // only outlives them, to report how the binary ended. SIGTERM and SIGHUP usually target
  // one process (kill, a process manager, a container stop): they are passed on.
  const handlers = new Map();
  const swallow = () => {};
  for (const sig of ["SIGINT", "SIGQUIT", "SIGBREAK"]) handlers.set(sig, swallow);
  for (const sig of ["SIGTERM", "SIGHUP"]) {
    handlers.set(sig, () => {
      try {
        child.kill(sig);
      } catch {
        // already gone
      }
    });
  }
  for (const [sig, fn] of handlers) {
    try {
      process.on(sig, fn);
    } catch {
      // a signal this platform lacks
    }
  }

  child.on("error", (err) => {
    const hint =
      err.code === "EACCES" ? ` (is it executable? chmod +x "${binary}")` : "";
    process.stderr.write(`pskeys: cannot run ${binary}: ${err.message}${hint}\n`);
    process.exit(127);
  });

  child.on("exit", (code, signal) => {
    for (const [sig, fn] of handlers) process.removeListener(sig, fn);
    if (signal) {
      // End the same way, so the shell sees 128+N and `set -e`/CI see the signal.
      // Should this process survive it (node ignores SIGPIPE), exit with 128+N.
      process.exitCode = 128 + (os.constants.signals[signal] || 0);
      process.kill(process.pid, signal);
      return;
    }
    process.exit(code === null ? 1 : code);
  });
}

run();
