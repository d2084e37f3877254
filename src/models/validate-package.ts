/**
 * `riskcards validate <dir>`: the problems a package would be refused for at start-up
 * (manifest and feature structure, sha256, graph inputs and outputs, reference cases), as sentences.
 */
import { loadModelPackage, ModelPackageError } from './model-package.ts';

export async function validateModelPackage(dir: string): Promise<string[]> {
  try {
    const pkg = await loadModelPackage(dir);
    await pkg.session.release();
    return [];
  } catch (err) {
    if (err instanceof ModelPackageError) return err.problems;
    throw err;
  }
}
