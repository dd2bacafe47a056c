// Builds dist/: strongroom.<hash>.js, the fields page fields.<hash>.html with its script
// fields.<hash>.js, and manifest.json mapping each logical name to {file, integrity}.
// Names carry a hash of the content, so the edge may cache them for a year.
//
// STRONGROOM_API_URL fixes the API's base URL in both bundles; without it each derives the
// API host from its own: js.<domain> -> api.<domain>.

import { createHash } from "node:crypto";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const root = new URL("./", import.meta.url);
const dist = new URL("dist/", root);
const { version } = JSON.parse(await readFile(new URL("package.json", root), "utf8"));
const apiUrl = process.env.STRONGROOM_API_URL ?? "";

const integrity = (bytes) => `sha384-${createHash("sha384").update(bytes).digest("base64")}`;
const hashed = (name, ext, bytes) =>
  `${name}.${createHash("sha256").update(bytes).digest("hex").slice(0, 16)}.${ext}`;

async function bundle(entry, define) {
  const result = await build({
    entryPoints: [new URL(entry, root).pathname],
    bundle: true,
    minify: true,
    format: "iife",
    target: ["es2020", "chrome90", "firefox90", "safari15"],
    legalComments: "none",
    charset: "utf8",
    write: false,
    define: Object.fromEntries(Object.entries(define).map(([k, v]) => [k, JSON.stringify(v)])),
  });
  return Buffer.from(result.outputFiles[0].contents);
}

const fieldsJs = await bundle("src/fields/main.js", { API_URL: apiUrl });
const fieldsJsName = hashed("fields", "js", fieldsJs);
const template = await readFile(new URL("src/fields/fields.html", root), "utf8");
const fieldsHtml = Buffer.from(
  template.replace("__SCRIPT__", fieldsJsName).replace("__INTEGRITY__", integrity(fieldsJs)),
);
const fieldsHtmlName = hashed("fields", "html", fieldsHtml);
const sdk = await bundle("src/strongroom.js", {
  API_URL: apiUrl,
  FIELDS_PAGE: fieldsHtmlName,
  VERSION: version,
});
const sdkName = hashed("strongroom", "js", sdk);

const files = { "strongroom.js": [sdkName, sdk], "fields.html": [fieldsHtmlName, fieldsHtml], "fields.js": [fieldsJsName, fieldsJs] };
const manifest = {};
await rm(dist, { recursive: true, force: true });
await mkdir(dist, { recursive: true });
for (const [logical, [file, bytes]] of Object.entries(files)) {
  await writeFile(new URL(file, dist), bytes);
  manifest[logical] = { file, integrity: integrity(bytes) };
}
await writeFile(new URL("manifest.json", dist), `${JSON.stringify(manifest, null, 2)}\n`);

for (const [logical, [file, bytes]] of Object.entries(files)) {
  const gzipped = gzipSync(bytes, { level: 9 }).length;
  console.log(`${logical.padEnd(14)} ${file.padEnd(34)} ${bytes.length} B minified, ${gzipped} B gzipped`);
}
