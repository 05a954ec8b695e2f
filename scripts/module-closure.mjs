// Prints the node_modules folders that the named packages need at run time (their
// dependencies, optional and peer dependencies, recursively, as Node resolves them),
// one path per line relative to the repository root:
//   node scripts/module-closure.mjs vitest node-gyp-build
// scripts/gpu-kit.sh packs these for a machine that has no package registry.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The folder `name` resolves to from `from`, as Node's lookup walks up; null if not installed. */
function resolvePackage(name, from) {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (fs.existsSync(path.join(candidate, 'package.json'))) return candidate;
    if (path.dirname(dir) === dir) return null;
  }
}

const seen = new Set();
function visit(dir) {
  if (dir === null || seen.has(dir)) return;
  seen.add(dir);
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const needs = { ...pkg.dependencies, ...pkg.optionalDependencies, ...pkg.peerDependencies };
  for (const name of Object.keys(needs)) visit(resolvePackage(name, dir));
}

const names = process.argv.slice(2);
if (names.length === 0) {
  console.error('usage: node scripts/module-closure.mjs <package>...');
  process.exit(2);
}
for (const name of names) {
  const dir = resolvePackage(name, root);
  if (dir === null) {
    console.error(`module-closure: ${name} is not installed (run npm ci)`);
    process.exit(1);
  }
  visit(dir);
}
for (const dir of [...seen].sort()) console.log(path.relative(root, dir));
