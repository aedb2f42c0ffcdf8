// Replacing a number in a kernel text line without moving its columns.

/** Width of the value column of fs/proc/meminfo.c show_val_kb(): seq_put_decimal_ull_width(..., 8). */
const MEMINFO_VALUE_WIDTH = 8;

/**
 * Replace the number of a "Key:   number[ unit]" line keeping the kernel's layout: the label keeps its
 * padded width (16 columns in meminfo) and the new number is right-aligned in `width` columns,
 * growing to the right when it has more digits, as seq_put_decimal_ull_width() does.
 */
export function replaceValue(raw: string, value: number, width = MEMINFO_VALUE_WIDTH): string {
  const m = /^([^\s:]+:)(\s*)(\d+)(.*)$/.exec(raw);
  if (!m) throw new Error(`not a "Key: value" line: "${raw}"`);
  return replaceMatched(
    raw,
    (m[1] as string).length,
    (m[2] as string).length,
    (m[3] as string).length,
    m[4] as string,
    value,
    width,
  );
}

/**
 * replaceValue of a line already split: the label with its colon (`labelLength` characters), then
 * `spaces` blanks, `digits` digits and `rest` (" kB").
 */
export function replaceMatched(
  raw: string,
  labelLength: number,
  spaces: number,
  digits: number,
  rest: string,
  value: number,
  width = MEMINFO_VALUE_WIDTH,
): string {
  const end = labelLength + spaces + digits;
  // The label ends where the padded number began: end − max(width, digits).
  const labelEnd = Math.max(labelLength + 1, end - Math.max(width, digits));
  const label = raw.slice(0, labelEnd).padEnd(labelEnd, ' ');
  const text = String(Math.max(0, Math.floor(value)));
  return label + text.padStart(width, ' ') + rest;
}
