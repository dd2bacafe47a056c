// Formatting the inputs as the shopper types, without losing the caret.

/** "1", "12 / ", "12 / 3", "12 / 34": the slash appears after the month. */
export function formatExpiry(value, deleting) {
  let digits = (value.match(/\d/g) ?? []).join("");
  if (digits.length === 6) digits = digits.slice(0, 2) + digits.slice(4); // MM/YYYY autofill
  digits = digits.slice(0, 4);
  if (/^[2-9]$/.test(digits)) digits = `0${digits}`;
  if (digits.length > 2) return `${digits.slice(0, 2)} / ${digits.slice(2)}`;
  return digits.length === 2 && !deleting ? `${digits} / ` : digits;
}

/** Where the caret goes in `formatted` to follow the first `digits` digits. */
export function caretAfterDigits(formatted, digits) {
  let position = 0;
  for (let seen = 0; position < formatted.length && seen < digits; position++) {
    if (formatted[position] >= "0" && formatted[position] <= "9") seen++;
  }
  return position;
}

/** Replace an input's value by `formatted`, keeping the caret after the same digits. */
export function reformat(input, formatted) {
  if (input.value === formatted) return;
  const typed = input.value.slice(0, input.selectionStart ?? input.value.length);
  const digitsBefore = (typed.match(/\d/g) ?? []).length;
  input.value = formatted;
  const caret = caretAfterDigits(formatted, digitsBefore);
  input.setSelectionRange(caret, caret);
}
