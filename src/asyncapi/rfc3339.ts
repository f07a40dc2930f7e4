/**
 * RFC 3339 dates and times, read by character codes. Contracts judge them as ajv-formats does;
 * CloudEvents' `time` by RFC 3339's own grammar (isStrictDateTime, at the end).
 *
 * For contracts: the verdicts of ajv-formats' full-mode `date`, `time` and `date-time` on every
 * string. Those checks split the text with a regex and run two capturing regexes per value, about
 * 600 ns for each timestamp a record carries, on the proxy's thread; reading the characters in
 * place costs about a seventh of that. Their quirks are kept on purpose (a space or any Unicode
 * whitespace between date and time, an offset with or without its minutes or colon, the leap
 * second reckoned in UTC), so a contract means the same whichever reads it; a property test
 * holds the two to the same answer.
 *
 *   date-time = full-date ("T" / "t" / whitespace) time
 *   full-date = 4DIGIT "-" 2DIGIT "-" 2DIGIT               a real day of the Gregorian calendar
 *   time      = 2DIGIT ":" 2DIGIT ":" 2DIGIT ["." 1*DIGIT] zone
 *   zone      = "Z" / "z" / ("+" / "-") 2DIGIT [[":"] 2DIGIT]
 */

const COLON = 0x3a;
const DOT = 0x2e;
const HYPHEN = 0x2d;
const PLUS = 0x2b;
const UPPER_T = 0x54;
const LOWER_T = 0x74;
const UPPER_Z = 0x5a;
const LOWER_Z = 0x7a;
/** What a regex's `\s` matches, for the rare separator that is neither "T" nor "t". */
const WHITESPACE = /\s/;

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

/** The value of the `count` ASCII digits of `text` at `start`, or -1 when any of them is not one. */
function digitsAt(text: string, start: number, count: number): number {
  let n = 0;
  for (let i = start; i < start + count; i++) {
    const code = text.charCodeAt(i);
    if (!isDigit(code)) return -1;
    n = n * 10 + code - 0x30;
  }
  return n;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Whether the 10 characters of `text` at `at` are a full-date. */
function fullDateAt(text: string, at: number): boolean {
  if (text.charCodeAt(at + 4) !== HYPHEN || text.charCodeAt(at + 7) !== HYPHEN) return false;
  const year = digitsAt(text, at, 4);
  const month = digitsAt(text, at + 5, 2);
  const day = digitsAt(text, at + 8, 2);
  return year >= 0 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);
}

/** Where an optional "." 1*DIGIT at `i` ends, or -1 when a "." has no digits after it. */
function afterFraction(text: string, i: number): number {
  if (text.charCodeAt(i) !== DOT) return i;
  const digits = ++i;
  while (isDigit(text.charCodeAt(i))) i++;
  return i === digits ? -1 : i;
}

/** Whether `text` from `at` to its end is a time with a zone. */
function timeFrom(text: string, at: number): boolean {
  if (text.charCodeAt(at + 2) !== COLON || text.charCodeAt(at + 5) !== COLON) return false;
  const hour = digitsAt(text, at, 2);
  const minute = digitsAt(text, at + 3, 2);
  const wholeSecond = digitsAt(text, at + 6, 2);
  if (hour < 0 || minute < 0 || wholeSecond < 0) return false;
  let i = afterFraction(text, at + 8);
  if (i < 0) return false;
  // Seconds are compared with 60 and 61 as the number the digits read as: a fraction cannot lift
  // 58 to 60, but enough nines after 59 round to 60 in a double, as they do in ajv-formats.
  const second = wholeSecond < 59 || i === at + 8 ? wholeSecond : Number(text.slice(at + 6, i));
  let zoneSign = 1;
  let zoneHour = 0;
  let zoneMinute = 0;
  const zone = text.charCodeAt(i);
  if (zone === UPPER_Z || zone === LOWER_Z) {
    i++;
  } else if (zone === PLUS || zone === HYPHEN) {
    if (zone === HYPHEN) zoneSign = -1;
    zoneHour = digitsAt(text, i + 1, 2);
    if (zoneHour < 0) return false;
    i += 3;
    if (i < text.length) {
      if (text.charCodeAt(i) === COLON) i++;
      zoneMinute = digitsAt(text, i, 2);
      if (zoneMinute < 0) return false;
      i += 2;
    }
  } else {
    return false;
  }
  if (i !== text.length || zoneHour > 23 || zoneMinute > 59) return false;
  if (hour <= 23 && minute <= 59 && second < 60) return true;
  // Only 23:59:60 UTC is a leap second; other out-of-range fields are refused by the same sums.
  const utcMinute = minute - zoneMinute * zoneSign;
  const utcHour = hour - zoneHour * zoneSign - (utcMinute < 0 ? 1 : 0);
  return (utcHour === 23 || utcHour === -1) && (utcMinute === 59 || utcMinute === -1) && second < 61;
}

/** JSON Schema's `date`: YYYY-MM-DD. */
export function isDate(text: string): boolean {
  return text.length === 10 && fullDateAt(text, 0);
}

/** JSON Schema's `time`: HH:MM:SS[.frac] and a zone, which is required. */
export function isTime(text: string): boolean {
  return timeFrom(text, 0);
}

/** JSON Schema's `date-time`. */
export function isDateTime(text: string): boolean {
  const separator = text.charCodeAt(10);
  return (
    (separator === UPPER_T ||
      separator === LOWER_T ||
      (text.length > 10 && WHITESPACE.test(text.charAt(10)))) &&
    fullDateAt(text, 0) &&
    timeFrom(text, 11)
  );
}

/**
 * RFC 3339's own date-time (section 5.6), as CloudEvents asks for it: "T" or "t" between date and
 * time, seconds up to 60 (a leap second, at whatever time), and "Z" or an offset ±HH:MM.
 */
export function isStrictDateTime(text: string): boolean {
  const separator = text.charCodeAt(10);
  if (text.length < 20 || (separator !== UPPER_T && separator !== LOWER_T) || !fullDateAt(text, 0))
    return false;
  if (text.charCodeAt(13) !== COLON || text.charCodeAt(16) !== COLON) return false;
  const hour = digitsAt(text, 11, 2);
  const minute = digitsAt(text, 14, 2);
  const second = digitsAt(text, 17, 2);
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60) return false;
  const i = afterFraction(text, 19);
  if (i < 0) return false;
  const zone = text.charCodeAt(i);
  if (zone === UPPER_Z || zone === LOWER_Z) return i + 1 === text.length;
  if ((zone !== PLUS && zone !== HYPHEN) || i + 6 !== text.length || text.charCodeAt(i + 3) !== COLON)
    return false;
  const zoneHour = digitsAt(text, i + 1, 2);
  const zoneMinute = digitsAt(text, i + 4, 2);
  return zoneHour >= 0 && zoneHour <= 23 && zoneMinute >= 0 && zoneMinute <= 59;
}
