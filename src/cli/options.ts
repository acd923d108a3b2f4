import { UserError } from '../util/errors.js';

// Parse `CxHxW` or `NxCxHxW` dimension text for an option, naming the option on error.
export function parseDims(text: string, option: string, rank?: number[]): number[] {
  const parts = text.trim().toLowerCase().split('x');
  const dims = parts.map(Number);
  if (parts.some((p) => !/^\d+$/.test(p)) || dims.some((d) => d <= 0)) {
    throw new UserError(`${option}: '${text}' is not a shape like 3x32x32 (positive whole numbers separated by 'x')`);
  }
  if (rank && !rank.includes(dims.length))
    throw new UserError(`${option}: '${text}' has ${dims.length} dims; expected ${rank.join(' or ')}`);
  return dims;
}

// Parse a comma-separated list of numbers (`0.485,0.456,0.406`), naming the option on error.
export function parseNumbers(text: string, option: string): number[] {
  const parts = text.split(',').map((p) => p.trim());
  const values = parts.map(Number);
  if (parts.some((p) => p === '') || values.some((v) => !Number.isFinite(v))) {
    throw new UserError(`${option}: '${text}' is not a comma-separated list of numbers like 0.485,0.456,0.406`);
  }
  return values;
}

// A number option that must be positive (and whole, when asked), naming the option on error.
export function positive(value: unknown, option: string, whole = false): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (whole && !Number.isInteger(n))) {
    throw new UserError(`${option}: '${String(value)}' must be a positive ${whole ? 'whole number' : 'number'}`);
  }
  return n;
}
