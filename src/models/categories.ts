/**
 * Risk categories of a model: the manifest lists them in ascending order, each with an exclusive
 * upper bound (`below`) except the last.
 */
import type { Category } from '../domain.ts';
import type { CategorySpec, ModelManifest } from './manifest.ts';

/** The category a risk (0-1) falls in: the first whose `below` exceeds it, else the last. */
export function categorize(manifest: Pick<ModelManifest, 'id' | 'categories'>, risk: number): Category {
  if (!Number.isFinite(risk)) throw new Error(`Model ${manifest.id} produced a risk that is not a number (${risk}).`);
  const spec = manifest.categories.find((c) => c.below === undefined || risk < c.below) ?? manifest.categories.at(-1);
  if (!spec) throw new Error(`Model ${manifest.id} declares no risk categories.`);
  return { code: spec.code, label: spec.label, indicator: spec.indicator };
}

/** Sentences describing what is wrong with a category list (empty when it is usable). */
export function categoryProblems(categories: CategorySpec[]): string[] {
  const problems: string[] = [];
  if (!Array.isArray(categories) || categories.length === 0) return ['The manifest declares no risk categories.'];
  categories.forEach((c, i) => {
    const last = i === categories.length - 1;
    if (!c.code || !c.label) problems.push(`Category ${i + 1} needs a code and a label.`);
    if (!['info', 'warning', 'critical'].includes(c.indicator)) {
      problems.push(`Category "${c.code}" has indicator "${String(c.indicator)}"; use info, warning or critical.`);
    }
    if (!last && (typeof c.below !== 'number' || !(c.below > 0 && c.below <= 1))) {
      problems.push(`Category "${c.code}" needs an upper bound "below" between 0 and 1 (only the last category has none).`);
    }
    if (last && c.below !== undefined) problems.push(`The last category "${c.code}" must not have an upper bound.`);
    const prev = categories[i - 1]?.below;
    if (i > 0 && typeof prev === 'number' && typeof c.below === 'number' && !(c.below > prev)) {
      problems.push(`Category "${c.code}" must have a higher upper bound than the category before it.`);
    }
  });
  return problems;
}
