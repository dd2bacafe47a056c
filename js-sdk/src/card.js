// The card rules the vault applies (vault/domain/cards.py), checked in the browser first so
// the shopper hears at once what to fix. The vault checks again: these only save a round trip.

// Issuer identification number ranges: [brand, low, high], both ends inclusive; the
// number of digits in `low` is the length of the prefix compared.
const RANGES = [
  ["amex", 34, 34],
  ["amex", 37, 37],
  ["mastercard", 51, 55],
  ["mastercard", 2221, 2720],
  ["discover", 6011, 6011],
  ["discover", 644, 649],
  ["discover", 65, 65],
  ["visa", 4, 4],
];

const NUMBER_LENGTHS = {
  amex: [15],
  mastercard: [16],
  discover: [16, 17, 18, 19],
  visa: [13, 16, 19],
  unknown: [13, 14, 15, 16, 17, 18, 19],
};

// American Express prints a 4-digit CID; the others a 3-digit CVC.
const CVC_LENGTHS = { amex: [4], unknown: [3, 4] };

export const MESSAGES = {
  incomplete_number: "Your card number is incomplete.",
  incorrect_number: "Your card number is incorrect.",
  incomplete_expiry: "Your card's expiration date is incomplete.",
  invalid_expiry: "Your card's expiration date is invalid.",
  invalid_expiry_month: "Your card's expiration month is invalid.",
  invalid_expiry_year: "Your card's expiration year is invalid.",
  expired_card: "Your card has expired.",
  incomplete_cvc: "Your card's security code is incomplete.",
  invalid_cvc: "Your card's security code is invalid.",
  invalid_name: "The name must not contain a card number.",
};

/** An error about one field, in the shape of the vault's: {code, message, param}. */
export function fieldError(code, param) {
  return { type: "validation_error", code, message: MESSAGES[code], param };
}

/** The digits of a number as typed: spaces and dashes dropped; null if anything else is there. */
export function digitsOf(value) {
  const compact = String(value).replace(/[\s-]/g, "");
  return /^[0-9]*$/.test(compact) ? compact : null;
}

/** The card brand from the number's leading digits. */
export function brandOf(digits) {
  for (const [brand, low, high] of RANGES) {
    const length = String(low).length;
    if (digits.length >= length) {
      const prefix = Number(digits.slice(0, length));
      if (low <= prefix && prefix <= high) return brand;
    }
  }
  return "unknown";
}

export function numberLengths(brand) {
  return NUMBER_LENGTHS[brand] ?? NUMBER_LENGTHS.unknown;
}

export function cvcLengths(brand) {
  return CVC_LENGTHS[brand] ?? [3];
}

export function luhnValid(digits) {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) d = d > 4 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/** The number's error code, or null when it is a whole, Luhn-valid number of its brand. */
export function checkNumber(value) {
  const digits = digitsOf(value);
  if (digits === null) return "incorrect_number";
  if (digits === "") return "incomplete_number";
  const lengths = numberLengths(brandOf(digits));
  if (digits.length < Math.min(...lengths)) return "incomplete_number";
  if (!lengths.includes(digits.length) || !luhnValid(digits)) return "incorrect_number";
  return null;
}

/**
 * An expiry as typed ("12/34", "12 / 2034", "1234", "12-34") as {month, year} with a
 * four-digit year, or {error} with the code to show.
 */
export function parseExpiry(value) {
  const text = String(value).trim();
  const match = /^(\d{1,2})\s*[/\-.\s]\s*(\d{2}|\d{4})$/.exec(text) ?? /^(\d{2})(\d{2}|\d{4})$/.exec(text);
  if (!match) {
    return { error: /^[\d\s/.-]*$/.test(text) ? "incomplete_expiry" : "invalid_expiry" };
  }
  const month = Number(match[1]);
  const year = match[2].length === 2 ? 2000 + Number(match[2]) : Number(match[2]);
  return { month, year };
}

/** The expiry's error code, or null; a card is good through the last day of its month. */
export function checkExpiry(month, year, today = new Date()) {
  if (!Number.isInteger(month) || month < 1 || month > 12) return "invalid_expiry_month";
  const thisYear = today.getFullYear();
  if (!Number.isInteger(year) || year < 2000 || year > thisYear + 50) return "invalid_expiry_year";
  if (year < thisYear || (year === thisYear && month < today.getMonth() + 1)) return "expired_card";
  return null;
}

/** The CVC's error code for a card of `brand`, or null. */
export function checkCvc(value, brand) {
  const cvc = String(value).trim();
  if (!/^[0-9]*$/.test(cvc)) return "invalid_cvc";
  const lengths = cvcLengths(brand);
  if (cvc.length < Math.min(...lengths)) return "incomplete_cvc";
  return lengths.includes(cvc.length) ? null : "invalid_cvc";
}

// Twelve or more digits, spaces and dashes allowed between them: the vault refuses a card
// number in the name, which it stores in the clear.
const DIGIT_RUN = /\d(?:[ -]?\d){11,}/;

/**
 * Check a card as the shopper typed it: {number, exp | exp_month + exp_year, cvc, name?}.
 * Returns {card} ready for POST /v1/cards, or {errors} in the order a shopper fixes them,
 * one per field. No message ever quotes what was typed.
 */
export function validateCard(input, today = new Date()) {
  const errors = [];
  const numberCode = checkNumber(input.number ?? "");
  if (numberCode) errors.push(fieldError(numberCode, "number"));
  const digits = digitsOf(input.number ?? "") ?? "";

  const expiry = readExpiry(input);
  if (expiry.error) errors.push(fieldError(expiry.error, expiry.param));
  else {
    const code = checkExpiry(expiry.month, expiry.year, today);
    if (code) errors.push(fieldError(code, expiry.param ?? expParam(code)));
  }

  const cvcCode = checkCvc(input.cvc ?? "", brandOf(digits));
  if (cvcCode) errors.push(fieldError(cvcCode, "cvc"));

  const name = String(input.name ?? "").trim();
  if (DIGIT_RUN.test(name)) errors.push(fieldError("invalid_name", "name"));

  if (errors.length) return { errors };
  const card = {
    number: digits,
    exp_month: expiry.month,
    exp_year: expiry.year,
    cvc: String(input.cvc).trim(),
  };
  if (name) card.name = name;
  return { card };
}

// The expiry from one "exp" field, or from two "exp_month" and "exp_year" fields.
function readExpiry(input) {
  if (input.exp !== undefined) {
    const parsed = parseExpiry(input.exp);
    return { ...parsed, param: "exp" };
  }
  const month = String(input.exp_month ?? "").trim();
  const year = String(input.exp_year ?? "").trim();
  if (!month || !year) return { error: "incomplete_expiry", param: month ? "exp_year" : "exp_month" };
  if (!/^\d{1,2}$/.test(month)) return { error: "invalid_expiry_month", param: "exp_month" };
  if (!/^(\d{2}|\d{4})$/.test(year)) return { error: "invalid_expiry_year", param: "exp_year" };
  return { month: Number(month), year: year.length === 2 ? 2000 + Number(year) : Number(year) };
}

function expParam(code) {
  return code === "invalid_expiry_month" ? "exp_month" : "exp_year";
}

/** The number grouped as printed on the card: 4-6-5 for American Express, fours otherwise. */
export function formatNumber(digits) {
  const groups = brandOf(digits) === "amex" ? [4, 6, 5] : [4, 4, 4, 4, 3];
  const parts = [];
  let at = 0;
  for (const size of groups) {
    if (at >= digits.length) break;
    parts.push(digits.slice(at, at + size));
    at += size;
  }
  return parts.join(" ");
}
