/** `riskcards validate <model-dir>`: checks a model package and reports each problem in a sentence. */
import { validateModelPackage } from '../models/validate-package.ts';

export async function runValidate(dir: string): Promise<number> {
  const problems = await validateModelPackage(dir);
  if (!problems.length) {
    process.stdout.write(`${dir}: the package is valid (sha256, inputs and outputs, feature codes and units, reference cases).\n`);
    return 0;
  }
  process.stdout.write(`${dir}: ${problems.length} problem${problems.length > 1 ? 's' : ''}:\n${problems.map((p) => `- ${p}`).join('\n')}\n`);
  return 1;
}
