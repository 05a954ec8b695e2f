// The install test (.ci/run runs it): what a user gets from `npm install tensorgrad`.
// Packs the package (after `npm run prebuild` unless --no-prebuild), checks what the
// tarball holds, installs it into a fresh project with --ignore-scripts and with no
// compiler on the PATH, compiles one user program with `tsc --strict` as ESM and as
// CommonJS against the installed .d.ts files, runs both (each trains a two-layer
// network and must see its loss fall), and prints the tarball size, unpacked size
// and install time.
//   node scripts/install-test.mjs [--no-prebuild] [--keep]
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const COMPILERS = ['cc', 'gcc', 'g++', 'c++', 'clang', 'clang++', 'make', 'cmake', 'nvcc', 'python3', 'python'];

function fail(message) {
  console.error(`install-test: FAILED: ${message}`);
  process.exit(1);
}

function run(cmd, cmdArgs, options = {}) {
  const started = process.hrtime.bigint();
  const r = spawnSync(cmd, cmdArgs, { encoding: 'utf8', ...options });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.error) fail(`${cmd} could not start: ${r.error.message}`);
  if (r.status !== 0) {
    fail(`${[cmd, ...cmdArgs].join(' ')} exited with ${r.status}\n${r.stdout ?? ''}\n${r.stderr ?? ''}`);
  }
  return { stdout: r.stdout ?? '', seconds };
}

const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(2)} MiB`;

// ---------------------------------------------------------------- pack
if (!args.has('--no-prebuild')) {
  console.log('== npm run prebuild');
  run('npm', ['run', 'prebuild'], { cwd: root, stdio: 'inherit' });
}
console.log('== npm run build:ts');
run('npm', ['run', 'build:ts'], { cwd: root, stdio: 'inherit' });
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tensorgrad-install-'));
console.log(`== npm pack (into ${work})`);
// --ignore-scripts: prepare (build:ts) ran above, and its output would break the JSON
const packArgs = ['pack', '--json', '--ignore-scripts', '--pack-destination', work];
const [packed] = JSON.parse(run('npm', packArgs, { cwd: root }).stdout);
const tarball = path.join(work, packed.filename);
const files = packed.files.map((f) => f.path);
const platformDir = `prebuilds/${process.platform}-${process.arch}/`;
if (!files.some((f) => f.startsWith(platformDir) && f.endsWith('.node'))) {
  fail(`the tarball has no prebuilt binary under ${platformDir}`);
}
for (const must of ['dist/cjs/index.js', 'dist/cjs/index.d.ts', 'dist/esm/index.mjs', 'dist/cjs/cli.js', 'binding.gyp', 'README.md', 'LICENSE']) {
  if (!files.includes(must)) fail(`the tarball lacks ${must}`);
}
const unwanted = files.filter((f) => /^(test|build|build-cmake|bench-results|node_modules)\//.test(f) || /\.test\.|\.tgz$/.test(f));
if (unwanted.length) fail(`the tarball holds files a user does not need: ${unwanted.slice(0, 5).join(', ')}`);

// ---------------------------------------------------------------- install without compilers
const project = path.join(work, 'project');
fs.mkdirSync(project);
fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'tg-user', private: true }, null, 2));
// A PATH that holds node and nothing else: no compiler, no make, no python.
const bin = path.join(work, 'bin');
fs.mkdirSync(bin);
fs.symlinkSync(process.execPath, path.join(bin, 'node'));
const env = { ...process.env, PATH: bin, npm_config_nodedir: '' };
delete env.npm_config_nodedir;
for (const tool of COMPILERS) {
  const probe = spawnSync(tool, ['--version'], { env, stdio: 'ignore' });
  if (!probe.error) fail(`${tool} is still reachable on the test PATH`);
}
const npmCli = [
  path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js'),
  process.env.npm_execpath,
].find((p) => p && p.endsWith('npm-cli.js') && fs.existsSync(p));
if (!npmCli) fail('cannot find npm-cli.js to run npm without a PATH');
console.log('== npm install --ignore-scripts <tarball> (no compiler on PATH)');
const install = run(process.execPath, [npmCli, 'install', '--ignore-scripts', '--no-audit', '--no-fund', tarball], {
  cwd: project,
  env,
});

// ---------------------------------------------------------------- one user program, ESM and CJS
// The same text is written as .mts and .cts, so tsc checks both module forms of the types.
const PROGRAM = `import * as tg from 'tensorgrad';

const x = tg.randn([64, 8], { seed: 1 });
const target = x.matmul(tg.randn([8, 1], { seed: 2 })).tanh();
const model = new tg.nn.Sequential(new tg.nn.Linear(8, 16), new tg.nn.ReLU(), new tg.nn.Linear(16, 1));
const opt = new tg.optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
const losses: number[] = [];
for (let step = 0; step < 30; step++) {
  const loss: tg.Tensor = tg.nn.functional.mseLoss(model.forward(x), target);
  opt.zeroGrad();
  loss.backward();
  opt.step();
  losses.push(loss.item());
}
const first = losses[0];
const last = losses[losses.length - 1];
console.log(\`loss \${first.toFixed(4)} -> \${last.toFixed(4)} (\${tg.cpuInfo().isa} kernels)\`);
if (!(last < first * 0.5)) {
  console.error('the loss did not fall');
  process.exit(1);
}
`;
fs.writeFileSync(path.join(project, 'train.mts'), PROGRAM);
fs.writeFileSync(path.join(project, 'train.cts'), PROGRAM);
fs.writeFileSync(
  path.join(project, 'tsconfig.json'),
  JSON.stringify(
    {
      compilerOptions: {
        strict: true,
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        lib: ['es2022', 'esnext.disposable'],
        types: ['node'],
        typeRoots: [path.join(root, 'node_modules', '@types')],
        skipLibCheck: false,
        outDir: 'out',
      },
      files: ['train.mts', 'train.cts'],
    },
    null,
    2,
  ),
);
console.log('== tsc --strict against the installed types');
run(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project], { cwd: project, env });

// No `any` in the public declarations: a user's editor would lose the types there.
const typesDir = path.join(project, 'node_modules', 'tensorgrad', 'dist');
const anyHits = [];
for (const file of fs.readdirSync(typesDir, { recursive: true })) {
  if (!/\.d\.m?ts$/.test(file)) continue;
  const text = fs.readFileSync(path.join(typesDir, file), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, '');
  for (const line of text.split('\n')) if (/(:|<|,|\|)\s*any\b|\bany\[\]/.test(line)) anyHits.push(`${file}: ${line.trim()}`);
}
if (anyHits.length) fail(`the public types use any:\n  ${anyHits.slice(0, 10).join('\n  ')}`);

for (const out of ['train.mjs', 'train.cjs']) {
  console.log(`== node ${out}`);
  const r = run(process.execPath, [path.join(project, 'out', out)], { cwd: project, env });
  process.stdout.write(r.stdout);
}
const cli = run(process.execPath, [path.join(project, 'node_modules', 'tensorgrad', 'dist', 'cjs', 'cli.js'), 'info'], { cwd: project, env });
process.stdout.write(cli.stdout);
if (!/binary:\s+prebuilt/.test(cli.stdout)) fail('the installed package did not load its prebuilt binary');

console.log(
  `install-test: passed. tarball ${mib(packed.size)}, unpacked ${mib(packed.unpackedSize)} ` +
    `(${packed.entryCount} files), npm install ${install.seconds.toFixed(1)} s`,
);
if (!args.has('--keep')) fs.rmSync(work, { recursive: true, force: true });
