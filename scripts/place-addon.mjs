// Copies the addon built by cmake-js to build/Release/tensorgrad.node, where
// node-gyp-build (and the node-gyp build) put it, so the loader finds either build.
//   node scripts/place-addon.mjs build-cmake
import { copyFileSync, existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const NAME = 'tensorgrad.node';

const outArg = process.argv[2];
if (!outArg) {
  console.error('usage: node scripts/place-addon.mjs <cmake-js output dir, e.g. build-cmake>');
  process.exit(2);
}
const outDir = resolve(process.cwd(), outArg);

// cmake-js sets CMAKE_LIBRARY_OUTPUT_DIRECTORY to <out>/<config> (Release by default,
// Debug with --debug); on Windows the runtime output is <out> itself (plus <config> for
// multi-config generators).
const candidates = [
  join(outDir, 'Release', NAME),
  join(outDir, 'Debug', NAME),
  join(outDir, NAME),
  join(outDir, 'Release', 'Release', NAME),
  join(outDir, 'Debug', 'Debug', NAME),
].filter((p) => existsSync(p));

if (candidates.length === 0) {
  console.error(
    `place-addon: no ${NAME} under ${relative(root, outDir) || outDir}/ ` +
      `(looked in Release/, Debug/ and the folder itself). Did the cmake-js build succeed?`,
  );
  process.exit(1);
}
// If several configurations were built, take the newest.
const src = candidates.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];

const destDir = join(root, 'build', 'Release');
const dest = join(destDir, NAME);
mkdirSync(destDir, { recursive: true });
// Copy beside the target and rename over it: a process that has the old addon loaded
// keeps its mapping, and no reader ever sees a half-written file.
const tmp = `${dest}.tmp-${process.pid}`;
copyFileSync(src, tmp);
renameSync(tmp, dest);

const kib = Math.round(statSync(dest).size / 1024);
console.log(`place-addon: copied ${relative(root, src)} -> ${relative(root, dest)} (${kib} KiB)`);
