import { escapeXml } from '../domain/report/svgCharts';

/**
 * Markup that is already safe to send: built by the `html` tag (which escapes every value put into
 * it) or marked `raw` for trusted markup this code generated itself (the SVG renderers escape their
 * own text). Nothing a person or a stored document supplies reaches the page unescaped.
 */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export type HtmlValue = Html | string | number | boolean | null | undefined | readonly HtmlValue[];

/** Trusted markup, e.g. an SVG this code rendered. Never for text from outside. */
export const raw = (text: string): Html => new Html(text);

function render(value: HtmlValue): string {
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  // false, null and undefined render nothing, so `cond && html\`...\`` reads naturally.
  if (value === null || value === undefined || value === false) return '';
  return escapeXml(String(value));
}

/** A template literal whose interpolated values are escaped (arrays joined, Html kept as is). */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): Html {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? '');
  });
  return new Html(out);
}
