/** @lhncbc/ucum-lhc ships no type declarations; src/features/units.ts types the part it uses. */
declare module '@lhncbc/ucum-lhc';
