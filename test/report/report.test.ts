import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { REPORT_FILES, formatTable, markdownTable, writeReport, writeTrainingCurves } from '../../src/report/index.js';
import type { ReportRow } from '../../src/report/types.js';
import { sampleHistory, sampleRows } from './sample.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'onnx-distill-report-'));

describe('writeReport', () => {
  test('writes report.json with the rows as given, report.md listing each row, and the plots', async () => {
    const dir = tmp();
    const rows = sampleRows();
    const written = await writeReport(dir, rows, {
      history: sampleHistory(5),
      meta: { command: 'distill', method: 'dml' },
    });
    const json = JSON.parse(readFileSync(join(dir, REPORT_FILES.json), 'utf8'));
    assert.deepEqual(json.rows, rows);
    assert.equal(json.command, 'distill');
    assert.deepEqual(json.plots, {
      accuracySize: 'accuracy-size.png',
      accuracyLatency: 'accuracy-latency.png',
      trainingCurves: 'training-curves.png',
    });

    const md = readFileSync(written.markdown, 'utf8');
    const tableLines = md
      .split('\n')
      .filter((l) => l.startsWith('| ') && !l.startsWith('| Model') && !l.startsWith('| ---'));
    assert.equal(tableLines.length, rows.length);
    rows.forEach((r, i) => {
      assert.ok(
        tableLines[i]!.startsWith(`| ${r.model} | ${r.role} | ${r.format} | ${(100 * r.accuracy).toFixed(2)}% |`),
        tableLines[i],
      );
      if (r.file) assert.ok(tableLines[i]!.includes(`\`${r.file}\``));
    });
    for (const png of Object.values(json.plots) as string[]) {
      assert.ok(md.includes(`](${png})`), `report.md embeds ${png}`);
      const meta = await sharp(join(dir, png)).metadata();
      assert.ok(meta.width! > 1000 && meta.height! > 500, `${png} is ${meta.width}x${meta.height}`);
    }
    // Atomic writes leave no temp files behind.
    assert.deepEqual(readdirSync(dir).sort(), [
      'accuracy-latency.png',
      'accuracy-size.png',
      'report.json',
      'report.md',
      'training-curves.png',
    ]);
    assert.equal(written.table, formatTable(rows));
  });

  test('without a history or latencies, only the plots that have data are written', async () => {
    const dir = tmp();
    const rows = sampleRows().map((r) => ({ ...r, latencyMsBatch1: 0 }));
    const written = await writeReport(dir, rows);
    assert.deepEqual(Object.keys(written.plots), ['accuracySize']);
    assert.ok(!existsSync(join(dir, REPORT_FILES.accuracyLatency)));
    assert.ok(!readFileSync(written.markdown, 'utf8').includes(REPORT_FILES.trainingCurves));
  });

  test('bad rows fail with a message that names the row and the field', async () => {
    await assert.rejects(writeReport(tmp(), []), /no rows to report/);
    const [teacher] = sampleRows();
    await assert.rejects(
      writeReport(tmp(), [{ ...teacher!, accuracy: 93.6 }]),
      /row 0 \('resnet56'\): accuracy must be a fraction.*0\.936/,
    );
    await assert.rejects(
      writeReport(tmp(), [{ ...teacher!, role: 'mentor' as ReportRow['role'] }]),
      /role must be teacher, student or ensemble/,
    );
    await assert.rejects(
      writeReport(tmp(), [{ ...teacher!, sizeBytes: Number.NaN }]),
      /sizeBytes must be a finite number/,
    );
    assert.throws(() => formatTable([]), /no rows to report/);
  });

  test('writeTrainingCurves writes one PNG for distill to refresh as it trains', async () => {
    const path = join(tmp(), 'curves', 'training-curves.png');
    await writeTrainingCurves(path, sampleHistory(2));
    assert.equal((await sharp(path).metadata()).format, 'png');
  });
});

describe('tables', () => {
  test('the terminal table has a header, one aligned line per row, and the gap to the teacher', () => {
    const rows = sampleRows();
    const lines = formatTable(rows).split('\n');
    assert.equal(lines.length, rows.length + 1);
    assert.match(
      lines[0]!,
      /Model\s+Role\s+Format\s+Top-1\s+vs teacher\s+Size\s+Params\s+MACs\s+ms @1\s+ms @32\s+File/,
    );
    assert.match(
      lines[1]!,
      /resnet56\s+teacher\s+fp32\s+93\.61%\s+3\.3 MiB\s+862 k\s+126 M\s+6\.20\s+112\s+teacher\.onnx/,
    );
    assert.match(lines[2]!, /resnet8\s+student\s+fp32\s+87\.12%\s+-6\.49 pt\s+324\.4 KiB/);
    // Right-aligned numbers: every Top-1 cell ends in the same column.
    const ends = lines.slice(1).map((l) => l.indexOf('%'));
    assert.equal(new Set(ends).size, 1);
  });

  test('Markdown cells escape pipes and carry notes', () => {
    const [teacher] = sampleRows();
    const md = markdownTable([{ ...teacher!, model: 'a|b', notes: 'line one\nline two' }]);
    assert.ok(md.includes('| a\\|b |'));
    assert.ok(md.includes('line one line two'));
    assert.ok(md.split('\n')[0]!.endsWith('| Notes |'));
  });
});
