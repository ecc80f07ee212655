/**
 * ToleratedFailurePercentage / ToleratedFailureCount (or their …Path forms) of a Distributed Map.
 * Failures are counted in items (a failed batch counts all its items). Without either field no
 * failure is tolerated; with both, exceeding either fails the Map Run.
 */
import { States, StatesError } from './errors';
import { readPath } from './jsonpath';
import type { ContextObject, MapState } from './types';

export interface Tolerance {
  percentage?: number;
  count?: number;
}

export function toleranceOf(state: MapState, effective: unknown, context: ContextObject): Tolerance {
  const read = (value: number | undefined, path: string | undefined, name: string, max: number): number | undefined => {
    const resolved = path !== undefined ? readPath(effective, path, context) : value;
    if (resolved === undefined) return undefined;
    if (typeof resolved !== 'number' || !Number.isFinite(resolved) || resolved < 0 || resolved > max) {
      throw new StatesError(States.Runtime, `${name} must be a number from 0 to ${max} (got ${JSON.stringify(resolved)})`);
    }
    return resolved;
  };
  return {
    percentage: read(state.ToleratedFailurePercentage, state.ToleratedFailurePercentagePath, 'ToleratedFailurePercentage', 100),
    count: read(state.ToleratedFailureCount, state.ToleratedFailureCountPath, 'ToleratedFailureCount', Number.MAX_SAFE_INTEGER),
  };
}

export function exceedsTolerance(failedItems: number, totalItems: number, tolerance: Tolerance): boolean {
  if (failedItems === 0) return false;
  if (tolerance.percentage === undefined && tolerance.count === undefined) return true;
  if (tolerance.count !== undefined && failedItems > tolerance.count) return true;
  // failed / total > percentage / 100, without floating-point rounding of the percentage.
  return tolerance.percentage !== undefined && failedItems * 100 > tolerance.percentage * totalItems;
}

export function describeTolerance(tolerance: Tolerance): string {
  const parts = [tolerance.percentage !== undefined ? `${tolerance.percentage}%` : undefined, tolerance.count !== undefined ? `${tolerance.count} items` : undefined].filter(Boolean);
  return parts.length > 0 ? parts.join(' and ') : 'no failure';
}
