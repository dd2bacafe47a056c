import assert from "node:assert/strict";
import { test } from "node:test";
import {
  brandOf,
  checkCvc,
  checkExpiry,
  checkNumber,
  digitsOf,
  formatNumber,
  luhnValid,
  parseExpiry,
  validateCard,
} from "../src/card.js";
import { broken, generatedCard } from "../support/luhn.js";

const TODAY = new Date(2026, 10, 23); // 23 November 2026

test("luhn accepts the documented test cards and generated numbers", () => {
  for (const number of ["4242424242424242", "4000000000000002", "4000000000009995"]) {
    assert.ok(luhnValid(number), number);
  }
  for (let i = 0; i < 200; i++) {
    const number = generatedCard("4", 16);
    assert.ok(luhnValid(number));
    assert.ok(!luhnValid(broken(number)));
  }
});

test("luhn refuses the empty string", () => {
  assert.equal(luhnValid(""), false);
});

test("brand follows the vault's ranges", () => {
  const cases = [
    ["4", "visa"],
    ["34", "amex"],
    ["37", "amex"],
    ["51", "mastercard"],
    ["55", "mastercard"],
    ["2221", "mastercard"],
    ["2720", "mastercard"],
    ["2721", "unknown"],
    ["6011", "discover"],
    ["644", "discover"],
    ["65", "discover"],
    ["36", "unknown"],
    ["1", "unknown"],
  ];
  for (const [prefix, brand] of cases) {
    assert.equal(brandOf(generatedCard(prefix, 16)), brand, prefix);
  }
  assert.equal(brandOf(""), "unknown");
});

test("digits drop spaces and dashes but nothing else", () => {
  assert.equal(digitsOf("4242 4242-4242 4242"), "4242424242424242");
  assert.equal(digitsOf("4242.4242"), null);
  assert.equal(digitsOf("４２４２"), null); // full-width digits are not ASCII digits
});

test("number: incomplete, incorrect or whole", () => {
  assert.equal(checkNumber(""), "incomplete_number");
  assert.equal(checkNumber("4242 4242"), "incomplete_number");
  assert.equal(checkNumber("4242424242424242"), null);
  assert.equal(checkNumber(broken("4242424242424242")), "incorrect_number");
  assert.equal(checkNumber("4242a"), "incorrect_number");
  assert.equal(checkNumber(generatedCard("37", 15)), null); // amex is 15 digits
  assert.equal(checkNumber(generatedCard("37", 16)), "incorrect_number");
  assert.equal(checkNumber(generatedCard("4", 19)), null);
  assert.equal(checkNumber(generatedCard("4", 20)), "incorrect_number");
});

test("expiry parses the ways shoppers write it", () => {
  for (const text of ["12/34", "12 / 34", "12/2034", "1234", "122034", "12-34", " 12 /34 "]) {
    assert.deepEqual(parseExpiry(text), { month: 12, year: 2034 }, text);
  }
  assert.deepEqual(parseExpiry("1/34"), { month: 1, year: 2034 });
  assert.deepEqual(parseExpiry(""), { error: "incomplete_expiry" });
  assert.deepEqual(parseExpiry("12/3"), { error: "incomplete_expiry" });
  assert.deepEqual(parseExpiry("ab/cd"), { error: "invalid_expiry" });
});

test("expiry: good through the end of its month, and not absurdly far ahead", () => {
  assert.equal(checkExpiry(11, 2026, TODAY), null);
  assert.equal(checkExpiry(10, 2026, TODAY), "expired_card");
  assert.equal(checkExpiry(12, 2025, TODAY), "expired_card");
  assert.equal(checkExpiry(13, 2030, TODAY), "invalid_expiry_month");
  assert.equal(checkExpiry(0, 2030, TODAY), "invalid_expiry_month");
  assert.equal(checkExpiry(1, 2076, TODAY), null);
  assert.equal(checkExpiry(1, 2077, TODAY), "invalid_expiry_year");
});

test("cvc length depends on the brand", () => {
  assert.equal(checkCvc("123", "visa"), null);
  assert.equal(checkCvc("1234", "visa"), "invalid_cvc");
  assert.equal(checkCvc("12", "visa"), "incomplete_cvc");
  assert.equal(checkCvc("1234", "amex"), null);
  assert.equal(checkCvc("123", "amex"), "incomplete_cvc");
  assert.equal(checkCvc("123", "unknown"), null);
  assert.equal(checkCvc("12a", "visa"), "invalid_cvc");
});

test("a valid card becomes the vault's body", () => {
  const result = validateCard(
    { number: "4242 4242 4242 4242", exp: "12 / 34", cvc: "123", name: " Ada Lovelace " },
    TODAY,
  );
  assert.deepEqual(result, {
    card: { number: "4242424242424242", exp_month: 12, exp_year: 2034, cvc: "123", name: "Ada Lovelace" },
  });
});

test("separate month and year fields work too", () => {
  const result = validateCard(
    { number: "4242424242424242", exp_month: "03", exp_year: "29", cvc: "123" },
    TODAY,
  );
  assert.deepEqual(result.card, { number: "4242424242424242", exp_month: 3, exp_year: 2029, cvc: "123" });
  const missing = validateCard({ number: "4242424242424242", exp_month: "3", exp_year: "", cvc: "123" }, TODAY);
  assert.deepEqual(missing.errors.map((e) => [e.code, e.param]), [["incomplete_expiry", "exp_year"]]);
});

test("errors come one per field, in the order a shopper fixes them, quoting nothing", () => {
  const number = broken(generatedCard("4", 16));
  const result = validateCard({ number, exp: "13/30", cvc: "98765", name: "" }, TODAY);
  assert.deepEqual(
    result.errors.map((e) => [e.code, e.param]),
    [
      ["incorrect_number", "number"],
      ["invalid_expiry_month", "exp"],
      ["invalid_cvc", "cvc"],
    ],
  );
  for (const error of result.errors) {
    assert.ok(!error.message.includes(number.slice(-4)) && !error.message.includes("98765"));
    assert.match(error.message, /^Your card/);
  }
});

test("a card number typed into the name is refused", () => {
  const number = generatedCard("4", 16);
  const result = validateCard({ number, exp: "12/34", cvc: "123", name: `x ${number}` }, TODAY);
  assert.deepEqual(result.errors.map((e) => e.code), ["invalid_name"]);
});

test("numbers are grouped as printed", () => {
  assert.equal(formatNumber("4242424242424242"), "4242 4242 4242 4242");
  assert.equal(formatNumber("424242"), "4242 42");
  assert.equal(formatNumber("378282246310005".slice(0, 15)), "3782 822463 10005");
  assert.equal(formatNumber("4242424242424242123"), "4242 4242 4242 4242 123");
});
