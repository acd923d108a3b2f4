// BENCHMARKS.md is written by several bench scripts: each owns one section between HTML comment markers and keeps
// the others as they are.

const begin = (name: string) => `<!-- bench:${name} -->`;
const end = (name: string) => `<!-- /bench:${name} -->`;

// `text` with section `name` replaced by `body` (appended when it is not there yet).
export function replaceSection(text: string, name: string, body: string): string {
  const block = `${begin(name)}\n${body.trim()}\n${end(name)}`;
  const a = text.indexOf(begin(name)),
    b = text.indexOf(end(name));
  if (a >= 0 && b > a) return text.slice(0, a) + block + text.slice(b + end(name).length);
  return `${text.trimEnd()}\n\n${block}\n`;
}

// The marked sections of `text` (to carry over when a script rewrites the rest of the file).
export function sectionsOf(text: string): string[] {
  return [...text.matchAll(/<!-- bench:([\w-]+) -->[\s\S]*?<!-- \/bench:\1 -->/g)].map((m) => m[0]);
}
