// The layer order of src/, written once. Each row is a layer; a folder may import only folders in rows BELOW its own
// (never a folder of its own row, never a row above), so no cycle between folders can pass. Cycles between files are
// forbidden too. `npm run check:layers` (scripts/check-layers.mjs) runs this and prints file:line for each violation.
// A contract two layers share lives in the lower one's types.ts or in a leaf (ir, onnx, util): move it down, never
// import up. config sits below the run orchestration that reads its types and above everything that never sees it.
const LAYERS = [
  ['cli'], //                               command line: yargs, output context implementations, exit codes
  ['jobs'], //                              batch jobs (`pipeline` command): many runs, local or BullMQ workers
  ['pipeline'], //                          one run's orchestration: config -> data, models, methods, stages
  ['train'], //                             the one training loop, stages, checkpoints, artifacts
  ['config'], //                            the config file and option table (plain data, read by the layers above)
  ['methods'], //                           distillation methods: networks, taps, terms, schedules
  ['report'], //                            tables and plots (reads the export format registry)
  ['export', 'eval'], //                    inference export and its format registry, evaluation
  ['analysis'], //                          parameter/MAC counts, op summaries
  ['compiler'], //                          step graphs: networks, terms, optimizers
  ['autodiff'], //                          reverse-mode gradient rules
  ['models'], //                            student derivation: slim, graft, heads, taps
  ['zoo'], //                               built-in student families
  ['runtime', 'data'], //                   onnxruntime sessions and devices; datasets and loaders
  ['ir'], //                                in-memory ONNX graph, builder, passes, initialisers
  ['onnx', 'util'], //                      leaves: generated protobuf, errors, fs, registries
];

const folders = (row) => row.join('|');
const layerRules = LAYERS.map((row, i) => {
  const allowed = LAYERS.slice(i + 1).flat();
  return {
    name: `layer:${row.join('/')}`,
    comment: `${row.join('/')} may import only the layers below it: ${allowed.join(', ') || '(nothing)'}`,
    severity: 'error',
    from: { path: `^src/(${folders(row)})/` },
    to: { path: '^src/', pathNot: `^src/(${folders(['$1', ...allowed])})/` }, // $1: the importing file's own folder
  };
});

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'no-circular',
      comment: 'files must not import each other in a cycle: move the shared contract into a types.ts below both',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-unknown-folder',
      comment: 'every folder of src/ must have a row in LAYERS (.dependency-cruiser.cjs)',
      severity: 'error',
      from: { path: '^src/[^/]+/', pathNot: `^src/(${folders(LAYERS.flat())})/` },
      to: {},
    },
    {
      name: 'no-import-of-index',
      comment: 'src/index.ts is the public API: nothing inside src/ imports it',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^src/index\\.ts$' },
    },
  ],
  options: {
    includeOnly: '^src/',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
