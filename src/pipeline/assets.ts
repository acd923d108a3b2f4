import { fileURLToPath } from 'node:url';

// Files the package ships beside its code, so `distill`, `train`, `eval` and `export` run with no data or model given.

// The teacher shipped in the package (models/fashion-mnist-teacher), used when no --teacher is given.
export const SHIPPED_TEACHER = fileURLToPath(new URL('../../models/fashion-mnist-teacher/model.onnx', import.meta.url));
// The dataset shipped in the package (models/fashion-mnist-subset).
export const EMBEDDED_DATA = fileURLToPath(new URL('../../models/fashion-mnist-subset', import.meta.url));
