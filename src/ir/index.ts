// The ONNX IR: load/save, graph with producer/use links, builder and passes.
export * from './dtype.js';
export * from './tensor.js';
export * from './graph.js';
export * from './model.js';
export * from './builder.js';
export { inferShapes } from './passes/shapes.js';
export { topoSort } from './passes/toposort.js';
export { eliminateDeadCode } from './passes/dce.js';
