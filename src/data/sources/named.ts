import { existsSync } from 'node:fs';
import { UserError } from '../../util/errors.js';
import type { OpenedSource } from '../types.js';
import { openIdx } from './idx.js';

// Datasets known by name: Debian's packages put them under /usr/share/datasets.
export const NAMED: Record<string, { dir: string; pkg: string; classes: string[] }> = {
  'fashion-mnist': {
    dir: '/usr/share/datasets/fashion-mnist',
    pkg: 'dataset-fashion-mnist',
    classes: ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'],
  },
  mnist: {
    dir: '/usr/share/datasets/mnist',
    pkg: 'dataset-mnist',
    classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  },
};

// Open a dataset by name, or explain exactly how to install it.
export function openNamed(name: string, opts: { unlabeled?: boolean } = {}): OpenedSource {
  const n = NAMED[name]!;
  if (!existsSync(n.dir)) {
    throw new UserError(
      `dataset '${name}' is not installed (looked in ${n.dir})`,
      `install it with \`sudo apt-get install ${n.pkg}\`, or pass --data <folder> with its IDX files`,
    );
  }
  const src = openIdx(n.dir, n.classes, opts);
  return { ...src, description: `${name} (${n.dir})${src.unlabeled ? ', unlabeled (--unlabeled)' : ''}` };
}
