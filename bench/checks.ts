import type { TargetCheck, Unit } from './types.js';

type Where = Pick<TargetCheck, 'scenario' | 'database' | 'case'>;

export function atMost(where: Where, target: string, actual: number, limit: number, unit: Unit): TargetCheck {
  return { ...where, target, actual, limit, unit, inclusive: true, passed: actual <= limit };
}

export function below(where: Where, target: string, actual: number, limit: number, unit: Unit): TargetCheck {
  return { ...where, target, actual, limit, unit, inclusive: false, passed: actual < limit };
}
