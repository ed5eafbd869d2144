/** Small text helpers shared by the synthesizer's templates and rule-based scorers. */

/** Lower-case word tokens with punctuation removed (apostrophes and hyphens kept inside words). */
export function words(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9'\-\s]+/g, ' ')
    .split(/\s+/)
    .map((w) => w.replace(/^[-']+|[-']+$/g, ''))
    .filter((w) => w.length > 0);
}

/** `a`, `a and b`, `a, b and c`. */
export function listJoin(items: readonly string[], conjunction = 'and'): string {
  if (items.length <= 1) return items[0] ?? '';
  return `${items.slice(0, -1).join(', ')} ${conjunction} ${items[items.length - 1]}`;
}

/** Upper-cases the first letter. */
export function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** `a` or `an` for the phrase that follows. */
export function article(phrase: string): string {
  return /^[aeiou]/i.test(phrase) && !/^(one|uni|use|eu)/i.test(phrase) ? 'an' : 'a';
}

/** Age as it reads in a vignette: `34-year-old`, `8-month-old`, `5-week-old`, `3-day-old`. */
export function ageText(years: number): string {
  if (years >= 2) return `${Math.floor(years)}-year-old`;
  const months = Math.floor(years * 12);
  if (months >= 2) return `${months}-month-old`;
  const weeks = Math.floor(years * 52);
  if (weeks >= 2) return `${weeks}-week-old`;
  return `${Math.max(1, Math.floor(years * 365))}-day-old`;
}

/** The noun for a patient of this age and sex: man, woman, boy, girl, infant. */
export function personNoun(years: number, sex: 'female' | 'male'): string {
  if (years < 1) return sex === 'male' ? 'baby boy' : 'baby girl';
  if (years < 16) return sex === 'male' ? 'boy' : 'girl';
  return sex === 'male' ? 'man' : 'woman';
}

/** The subject pronoun for a patient. */
export function pronoun(sex: 'female' | 'male'): string {
  return sex === 'male' ? 'He' : 'She';
}

/** Ends a sentence with a full stop unless it already ends with punctuation. */
export function sentence(text: string): string {
  const t = capitalize(text.trim());
  return /[.?!]$/.test(t) ? t : `${t}.`;
}

/** Splits running text into sentences (good enough for plain-language medical prose). */
export function sentences(text: string): string[] {
  return text
    .replace(/\s+/g, ' ')
    .split(/(?<=[.?!])\s+(?=[A-Z0-9"(])/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
