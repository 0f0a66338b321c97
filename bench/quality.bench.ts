/**
 * Change-point quality (`npm run bench:quality`): precision, recall and F1 on labelled series (a
 * detection counts within ±5 points of a true change, each true change matched once), mean
 * offset, detection delay, false alarms on stationary series — for perfwatch's detector and for
 * the original system's fixed-percentage rule.
 */
import { detectChangePoints } from '../src/analysis/detectChangePoints.js';
import {
  cycleSuite,
  driftSuite,
  type LabelledSeries,
  labelledSuite,
  staircaseSuite,
  stationarySuite,
} from './quality/groundTruth.js';

const TOLERANCE = 5;

/** The original: mean of each 10-point window against the first 50 points, flagged beyond ±10 %. */
function naiveDetector(values: readonly number[]): number[] {
  const baseline = values.slice(0, 50).reduce((a, b) => a + b, 0) / 50;
  const found: number[] = [];
  let flagged = false;
  for (let i = 50; i + 10 <= values.length; i += 10) {
    const mean = values.slice(i, i + 10).reduce((a, b) => a + b, 0) / 10;
    const over = Math.abs(mean - baseline) > Math.abs(baseline) * 0.1;
    if (over && !flagged) found.push(i);
    flagged = over;
  }
  return found;
}

interface Score {
  tp: number;
  fp: number;
  fn: number;
  offsets: number[];
  /** Matched detections in the other direction than the true change (an improvement called a regression, or the reverse). */
  wrongDirection: number;
}

interface Detection {
  readonly index: number;
  /** Absent for detectors that do not tell (the original's abs(change)). */
  readonly direction?: 'up' | 'down';
}

function score(
  suite: readonly LabelledSeries[],
  detect: (values: number[]) => Detection[],
): Map<string, Score> {
  const byKind = new Map<string, Score>();
  for (const series of suite) {
    const found = detect(series.values);
    const s = byKind.get(series.kind) ?? { tp: 0, fp: 0, fn: 0, offsets: [], wrongDirection: 0 };
    const unmatched = new Set(series.changes);
    for (const { index, direction } of found) {
      let best: number | undefined;
      for (const truth of unmatched) {
        if (
          Math.abs(truth - index) <= TOLERANCE &&
          (best === undefined || Math.abs(truth - index) < Math.abs(best - index))
        )
          best = truth;
      }
      if (best === undefined) s.fp++;
      else {
        s.tp++;
        s.offsets.push(Math.abs(best - index));
        unmatched.delete(best);
        const truth = series.directions[series.changes.indexOf(best)];
        if (direction !== undefined && direction !== truth) s.wrongDirection++;
      }
    }
    s.fn += unmatched.size;
    byKind.set(series.kind, s);
  }
  return byKind;
}

function line(name: string, s: Score): string {
  const precision = s.tp + s.fp === 0 ? 1 : s.tp / (s.tp + s.fp);
  const recall = s.tp + s.fn === 0 ? 1 : s.tp / (s.tp + s.fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  const offset = s.offsets.length === 0 ? 0 : s.offsets.reduce((a, b) => a + b, 0) / s.offsets.length;
  return `${name.padEnd(22)} P ${precision.toFixed(3)}  R ${recall.toFixed(3)}  F1 ${f1.toFixed(3)}  offset ${offset.toFixed(2)}  (tp ${s.tp}, fp ${s.fp}, fn ${s.fn}, wrong direction ${s.wrongDirection})`;
}

function total(scores: Map<string, Score>): Score {
  const all: Score = { tp: 0, fp: 0, fn: 0, offsets: [], wrongDirection: 0 };
  for (const s of scores.values()) {
    all.tp += s.tp;
    all.fp += s.fp;
    all.fn += s.fn;
    all.wrongDirection += s.wrongDirection;
    all.offsets.push(...s.offsets);
  }
  return all;
}

const labelled = labelledSuite();
const stationary = stationarySuite();
const ours = (values: number[]) =>
  detectChangePoints(values).map(({ index, direction }) => ({ index, direction }));
const naive = (values: number[]) => naiveDetector(values).map((index) => ({ index }));
let started = performance.now();
const oursScores = score(labelled, ours);
const labelledMillis = performance.now() - started;
const naiveScores = score(labelled, naive);

console.log(`## change-point quality (${labelled.length} labelled series, ±${TOLERANCE} points)`);
for (const [kind, s] of oursScores) console.log(`perfwatch  ${line(kind, s)}`);
console.log(`perfwatch  ${line('ALL', total(oursScores))}   target F1 ≥ 0.9`);
for (const [kind, s] of naiveScores) console.log(`original   ${line(kind, s)}`);
console.log(`original   ${line('ALL', total(naiveScores))}`);

/**
 * Detection delay: how many points after a true change the detector, run on the history up to
 * then (as the live processor sees it), first reports it within the tolerance. Changes with
 * fewer than 80 points before the next one are skipped.
 */
const DELAY_STEPS = [5, 10, 15, 20, 30, 40, 60, 80];
const delays = new Map<string, { found: number[]; missed: number }>();
const perKind = new Map<string, number>();
for (const series of labelled) {
  const seen = perKind.get(series.kind) ?? 0;
  if (seen >= 10) continue;
  perKind.set(series.kind, seen + 1);
  const entry = delays.get(series.kind) ?? { found: [], missed: 0 };
  for (const [i, change] of series.changes.entries()) {
    const room = (series.changes[i + 1] ?? series.values.length) - change;
    if (room < 80) continue;
    const delay = DELAY_STEPS.find((d) =>
      detectChangePoints(series.values.slice(0, change + d)).some(
        (c) => Math.abs(c.index - change) <= TOLERANCE,
      ),
    );
    if (delay === undefined) entry.missed++;
    else entry.found.push(delay);
  }
  delays.set(series.kind, entry);
}
console.log('\n## detection delay (points after the change until reported; first 10 series per kind)');
for (const [kind, { found, missed }] of delays) {
  const sorted = [...found].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  const p90 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.9))];
  console.log(
    `${kind.padEnd(22)} median ${median ?? '–'}  p90 ${p90 ?? '–'}  (${found.length} found within 80 points, ${missed} not)`,
  );
}

started = performance.now();
const falseAlarms = stationary.map((series) => detectChangePoints(series.values).length);
const stationaryMillis = performance.now() - started;
const naiveAlarms = stationary.map((series) => naiveDetector(series.values).length);
console.log(`\n## ${stationary.length} stationary series (24 h at 10 s, no change)`);
console.log(`perfwatch: ${falseAlarms.reduce((a, b) => a + b, 0)} change points reported (target 0)`);
console.log(`original:  ${naiveAlarms.reduce((a, b) => a + b, 0)} alarms`);

const drifts = driftSuite();
const driftAlarms = new Map<string, { series: number; alarms: number }>();
for (const series of drifts) {
  const entry = driftAlarms.get(series.kind) ?? { series: 0, alarms: 0 };
  entry.series++;
  entry.alarms += detectChangePoints(series.values).length;
  driftAlarms.set(series.kind, entry);
}
console.log('\n## slow drifts (a ramp of 1–4 σ over the series, no change point)');
for (const [kind, { series, alarms }] of driftAlarms)
  console.log(`perfwatch: ${kind.padEnd(16)} ${alarms} change points reported on ${series} series`);

const staircases = staircaseSuite();
console.log(
  '\n## staircases (3–5 steps of 1.5–2.5 σ in one direction, 100–300 points apart; not in the F1 above)',
);
for (const [kind, s] of score(staircases, ours)) console.log(`perfwatch  ${line(kind, s)}`);

const cycles = cycleSuite();
console.log(
  '\n## short cycles (2880 points, hourly cycle of 2 σ, 0–3 steps of 1.5–3 σ; not in the F1 above)',
);
for (const [kind, s] of score(cycles, ours)) console.log(`perfwatch  ${line(kind, s)}`);
for (const [kind, s] of score(cycles, naive)) console.log(`original   ${line(kind, s)}`);

const long = stationary[0]!.values.concat(stationary[1]!.values).slice(0, 10_000);
const times: number[] = [];
for (let i = 0; i < 20; i++) {
  const t = performance.now();
  detectChangePoints(long);
  times.push(performance.now() - t);
}
times.sort((a, b) => a - b);
console.log(`\n## speed`);
console.log(`detectChangePoints on 10,000 points: median ${times[10]!.toFixed(1)} ms (target ≤ 20 ms)`);
console.log(
  `whole labelled suite: ${labelledMillis.toFixed(0)} ms; stationary suite: ${stationaryMillis.toFixed(0)} ms`,
);
