// A minimal npm registry on loopback for tests/install.rs: serves the packuments and
// tarballs of the .tgz files in a folder, so `npx pskeys init` can run the way a user's
// does (resolve `pskeys`, pick the platform package by os/cpu/libc, fetch only that).
//
//   node tests/install/registry.mjs <dir-of-tgz>
// prints `http://127.0.0.1:<port>/` on its first line, logs `GET <path>` lines on stderr,
// and exits on stdin's end or after 5 minutes.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";

const dir = process.argv[2];
if (!dir) {
  console.error("usage: node registry.mjs <dir-of-tgz>");
  process.exit(2);
}

/** package.json of a .tgz (the tar is scanned for package/package.json). */
function manifestOf(tgz) {
  const tar = gunzipSync(tgz);
  for (let off = 0; off + 512 <= tar.length; ) {
    const name = tar.subarray(off, off + 100).toString("utf8").replace(/\0.*$/s, "");
    const size = parseInt(tar.subarray(off + 124, off + 136).toString("utf8").trim() || "0", 8);
    if (!name) break;
    if (name === "package/package.json") {
      return JSON.parse(tar.subarray(off + 512, off + 512 + size).toString("utf8"));
    }
    off += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error("no package/package.json in tarball");
}

const packages = new Map(); // name -> { manifests: [..], files }
const tarballs = new Map(); // file name -> bytes
for (const file of readdirSync(dir).filter((f) => f.endsWith(".tgz"))) {
  const bytes = readFileSync(join(dir, file));
  const manifest = manifestOf(bytes);
  tarballs.set(file, bytes);
  const entry = packages.get(manifest.name) || { versions: {} };
  entry.versions[manifest.version] = { manifest, file, bytes };
  packages.set(manifest.name, entry);
}

let base = "";
const server = createServer((req, res) => {
  const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
  console.error(`${req.method} ${path}`);
  if (path.startsWith("/-/") && tarballs.has(path.slice(3))) {
    res.writeHead(200, { "content-type": "application/octet-stream" });
    res.end(tarballs.get(path.slice(3)));
    return;
  }
  const entry = packages.get(path.slice(1));
  if (!entry) {
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: "Not found" }));
    return;
  }
  const versions = {};
  for (const [v, { manifest, file, bytes }] of Object.entries(entry.versions)) {
    versions[v] = {
      ...manifest,
      _id: `${manifest.name}@${v}`,
      dist: {
        tarball: `${base}-/${file}`,
        integrity: `sha512-${createHash("sha512").update(bytes).digest("base64")}`,
        shasum: createHash("sha1").update(bytes).digest("hex"),
      },
    };
  }
  const latest = Object.keys(versions).sort().at(-1);
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify({ name: path.slice(1), "dist-tags": { latest }, versions }));
});

server.listen(0, "127.0.0.1", () => {
  base = `http://127.0.0.1:${server.address().port}/`;
  console.log(base);
});
const stop = () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
};
process.stdin.on("end", stop);
process.stdin.resume();
setTimeout(stop, 5 * 60 * 1000).unref();
