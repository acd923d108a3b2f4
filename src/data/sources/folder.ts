import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { UserError } from '../../util/errors.js';
import { UNLABELED, type OpenedSource, type Sample } from '../types.js';

// File extensions sharp decodes.
export const IMAGE_EXTENSIONS = new Set([
  '.png',
  '.jpg',
  '.jpeg',
  '.webp',
  '.avif',
  '.tif',
  '.tiff',
  '.gif',
  '.bmp',
  '.heic',
  '.heif',
  '.jxl',
]);

// Entries of a folder, or a UserError naming it (unreadable, not a folder): never a stack trace.
function listFolder(dir: string, what: string): string[] {
  try {
    return readdirSync(dir);
  } catch (err: unknown) {
    throw new UserError(`${dir}: cannot read the ${what} (${codeOf(err)})`, "check the folder's permissions");
  }
}

const codeOf = (err: unknown) => String((err as { code?: unknown }).code ?? (err instanceof Error ? err.message : err));

// Class folders of a root: links are followed once (the tree is two levels deep, so a loop cannot recurse), a link
// loop or an entry that cannot be examined is reported with its path, and a dangling link is not a class.
function classDirs(root: string): string[] {
  return listFolder(root, 'image folder')
    .filter((d) => {
      if (d.startsWith('.')) return false;
      try {
        return statSync(join(root, d)).isDirectory();
      } catch (err: unknown) {
        const code = codeOf(err);
        if (code === 'ENOENT') return false;
        throw new UserError(
          `${join(root, d)}: cannot examine this entry of the image folder (${code === 'ELOOP' ? 'a symbolic link loop' : code})`,
          'remove or fix it, or move it out of the dataset folder',
        );
      }
    })
    .sort();
}

function samplesOf(root: string, classes: string[], where: string): Sample[] {
  const out: Sample[] = [];
  classes.forEach((c, label) => {
    const dir = join(root, c);
    if (!existsSync(dir)) return;
    const files = listFolder(dir, `class folder '${c}'`)
      .filter((f) => IMAGE_EXTENSIONS.has(extname(f).toLowerCase()))
      .sort();
    if (files.length === 0)
      throw new UserError(
        `${dir}: class folder '${c}' of the ${where} set has no images (${[...IMAGE_EXTENSIONS].join(', ')})`,
      );
    for (const f of files) out.push({ path: join(dir, f), label });
  });
  return out;
}

const isImage = (f: string) => IMAGE_EXTENSIONS.has(extname(f).toLowerCase());

// Does this folder hold image files directly (not only in sub-folders)? Then it is not a folder of class folders.
function holdsImages(dir: string): boolean {
  return (
    existsSync(dir) &&
    listFolder(dir, 'image folder').some((f) => !f.startsWith('.') && isImage(f) && isFile(join(dir, f)))
  );
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

// Every image under `dir`, at any depth (sub-folders only organise the files; links are followed once, dot-entries
// skipped), sorted by path, unlabeled.
function allImages(dir: string, seen = new Set<string>()): Sample[] {
  const real = realpathSync(dir);
  if (seen.has(real)) return [];
  seen.add(real);
  const out: Sample[] = [];
  for (const f of listFolder(dir, 'image folder')
    .filter((e) => !e.startsWith('.'))
    .sort()) {
    const path = join(dir, f);
    let st;
    try {
      st = statSync(path);
    } catch {
      continue;
    }
    if (st.isDirectory()) out.push(...allImages(path, seen));
    else if (st.isFile() && isImage(f)) out.push({ path, label: UNLABELED });
  }
  return out;
}

function unlabeledSplit(dir: string): { kind: 'files'; samples: Sample[] } {
  const samples = allImages(dir);
  if (samples.length === 0)
    throw new UserError(`${dir}: no images (${[...IMAGE_EXTENSIONS].join(', ')}) in the folder or its sub-folders`);
  return { kind: 'files', samples };
}

// Unlabeled images: `root/**` (or `root/train/**` and `root/val/**`), no classes (they come from the teacher).
function openUnlabeledFolder(root: string, why: string): OpenedSource {
  const sub = ['val', 'test', 'validation'].find((d) => existsSync(join(root, d)));
  if (existsSync(join(root, 'train')) && sub) {
    return {
      classes: [],
      unlabeled: true,
      train: unlabeledSplit(join(root, 'train')),
      val: unlabeledSplit(join(root, sub)),
      description: `unlabeled image folder ${root} (train/ and ${sub}/; ${why})`,
    };
  }
  return {
    classes: [],
    unlabeled: true,
    train: unlabeledSplit(root),
    description: `unlabeled image folder ${root} (${why})`,
  };
}

// Open `root/<class>/*`, or `root/{train,val|test}/<class>/*`; class names sorted are the label indices.
// Unlabeled instead (every image at any depth, no classes) when asked, or when the root (or its train/) holds image
// files directly: a folder of class folders holds none, so its sub-folders are then taken as mere organisation.
export function openFolder(root: string, opts: { unlabeled?: boolean } = {}): OpenedSource {
  if (opts.unlabeled) return openUnlabeledFolder(root, '--unlabeled');
  if (holdsImages(root) || holdsImages(join(root, 'train')))
    return openUnlabeledFolder(root, 'it holds image files directly, so its sub-folders are not classes');
  const sub = ['val', 'test', 'validation'].find((d) => existsSync(join(root, d)));
  if (existsSync(join(root, 'train')) && sub) {
    const classes = classDirs(join(root, 'train'));
    if (classes.length === 0) throw new UserError(`${join(root, 'train')}: no class folders`);
    const extra = classDirs(join(root, sub)).filter((c) => !classes.includes(c));
    if (extra.length)
      throw new UserError(`${join(root, sub)}: class '${extra[0]}' is absent from ${join(root, 'train')}`);
    return {
      classes,
      train: { kind: 'files', samples: samplesOf(join(root, 'train'), classes, 'training') },
      val: { kind: 'files', samples: samplesOf(join(root, sub), classes, 'validation') },
      description: `image folder ${root} (train/ and ${sub}/)`,
    };
  }
  if (existsSync(join(root, 'train')) && classDirs(root).length === 1)
    return { ...openFolder(join(root, 'train')), description: `image folder ${join(root, 'train')}` };
  const classes = classDirs(root);
  if (classes.length === 0)
    throw new UserError(`${root}: no class folders; expected root/<class>/<image> or root/{train,val}/<class>/<image>`);
  return {
    classes,
    train: { kind: 'files', samples: samplesOf(root, classes, 'training') },
    description: `image folder ${root}`,
  };
}
