import type { ServiceVersion } from '../store/listAnalysedMetrics.js';
import type { DeployVerdict } from '../store/regressionRecords.js';
import { type AnalysedSeries, explainPoint } from './analyseSeries.js';
import { assessChange } from './assessChange.js';
import { compareWindows } from './detectChangePoints.js';
import type { MetricPolicy } from './metricPolicy.js';

/** A deploy difference must be at least this significant to count (one test per series and deploy). */
const DEPLOY_ALPHA = 0.01;

interface Tally {
  service: string;
  before: ServiceVersion;
  after: ServiceVersion;
  compared: number;
  regressions: number;
  improvements: number;
  worst: { score: number; explanation: string } | undefined;
}

/**
 * Per deploy (a service.version change in the analysed range): every series of the service
 * compared between the previous version's window and the new version's, the same way the
 * detector confirms changes, with the metric's direction and minimum effect. The verdict is
 * `regressed` when any series got worse, `improved` when some got better and none worse.
 */
export class DeployComparison {
  private readonly tallies = new Map<string, Tally>();

  constructor(
    private readonly versions: ReadonlyMap<string, readonly ServiceVersion[]>,
    private readonly range: { from: Date; to: Date },
    private readonly minPoints: number,
  ) {
    for (const [service, list] of versions) {
      for (let i = 1; i < list.length; i++) {
        const deployTime = list[i]!.firstSeen.getTime();
        if (deployTime <= range.from.getTime() || deployTime >= range.to.getTime()) continue;
        this.tallies.set(key(service, list[i]!.version), {
          service,
          before: list[i - 1]!,
          after: list[i]!,
          compared: 0,
          regressions: 0,
          improvements: 0,
          worst: undefined,
        });
      }
    }
  }

  add(series: AnalysedSeries, policy: MetricPolicy): void {
    if (series.service === null) return;
    const list = this.versions.get(series.service) ?? [];
    for (let i = 1; i < list.length; i++) {
      const tally = this.tallies.get(key(series.service, list[i]!.version));
      if (tally === undefined) continue;
      const deployTime = list[i]!.firstSeen.getTime();
      const start = Math.max(this.range.from.getTime(), list[i - 1]!.firstSeen.getTime());
      const end = Math.min(
        this.range.to.getTime(),
        list[i + 1]?.firstSeen.getTime() ?? Number.POSITIVE_INFINITY,
      );
      const before: number[] = [];
      const after: number[] = [];
      for (const [j, time] of series.times.entries()) {
        const value = series.values[j];
        if (value === null || value === undefined || !Number.isFinite(value)) continue;
        const t = time.getTime();
        if (t >= start && t < deployTime) before.push(value);
        else if (t >= deployTime && t < end) after.push(value);
      }
      if (before.length < this.minPoints || after.length < this.minPoints) continue;
      tally.compared++;
      const point = compareWindows(before, after);
      if (!(point.pValue < DEPLOY_ALPHA)) continue;
      const assessment = assessChange(point, policy);
      if (assessment.kind === 'improvement') tally.improvements++;
      if (assessment.kind !== 'regression') continue;
      tally.regressions++;
      const score = Math.abs(assessment.effect) / policy.minEffect;
      if (tally.worst !== undefined && tally.worst.score >= score) continue;
      tally.worst = {
        score,
        explanation: explainPoint(series, point, assessment, policy, list[i]!.firstSeen, {
          from: list[i - 1]!.version,
          to: list[i]!.version,
        }),
      };
    }
  }

  verdicts(evaluatedAt: Date): DeployVerdict[] {
    return [...this.tallies.values()].map((tally) => {
      const verdict: DeployVerdict['verdict'] =
        tally.compared === 0
          ? 'insufficient_data'
          : tally.regressions > 0
            ? 'regressed'
            : tally.improvements > 0
              ? 'improved'
              : 'unchanged';
      const head = `${tally.service} ${tally.before.version} → ${tally.after.version}: ${verdict.replace('_', ' ')}`;
      const counts =
        tally.compared === 0
          ? ` (fewer than ${this.minPoints} points on a side of every series)`
          : ` (${tally.regressions} of ${tally.compared} series worse, ${tally.improvements} better)`;
      return {
        service: tally.service,
        versionBefore: tally.before.version,
        versionAfter: tally.after.version,
        deployTime: tally.after.firstSeen,
        verdict,
        seriesCompared: tally.compared,
        regressions: tally.regressions,
        improvements: tally.improvements,
        summary: `${head}${counts}${tally.worst === undefined ? '' : `; worst: ${tally.worst.explanation}`}`,
        evaluatedAt,
      };
    });
  }
}

function key(service: string, version: string): string {
  return JSON.stringify([service, version]);
}
