// Luhn-valid numbers made at test time: no card number is written into these tests but
// the documented test cards.
import { randomInt } from "node:crypto";

export function checkDigit(partial) {
  let sum = 0;
  for (let i = 0; i < partial.length; i++) {
    let d = Number(partial[partial.length - 1 - i]);
    if (i % 2 === 0) d = d > 4 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}

/** A random Luhn-valid number of `length` digits starting with `prefix`. */
export function generatedCard(prefix, length) {
  let body = prefix;
  while (body.length < length - 1) body += String(randomInt(10));
  return body + checkDigit(body);
}

/** The same number with its last digit changed: Luhn-invalid. */
export function broken(number) {
  const last = (Number(number.at(-1)) + 1) % 10;
  return number.slice(0, -1) + last;
}
