import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// Import every module of a folder (one file per op rule, loss, method, device...): registries are found, never hand-listed.
export async function importFolder<T>(
  dirUrl: URL,
  pick: (mod: Record<string, unknown>, file: string) => T | undefined,
): Promise<T[]> {
  const dir = fileURLToPath(dirUrl);
  const files = readdirSync(dir)
    .filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts') && !f.startsWith('index.') && !f.startsWith('_'))
    .sort();
  const out: T[] = [];
  for (const f of files) {
    const mod = (await import(new URL(f, dirUrl).href)) as Record<string, unknown>;
    const item = pick(mod, f);
    if (item !== undefined) out.push(item);
  }
  return out;
}
