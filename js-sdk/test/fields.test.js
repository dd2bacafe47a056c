import assert from "node:assert/strict";
import { test } from "node:test";
import { caretAfterDigits, formatExpiry } from "../src/fields/format.js";
import { safeValue, styleRules } from "../src/fields/style.js";

test("expiry is formatted as typed", () => {
  assert.equal(formatExpiry("1", false), "1");
  assert.equal(formatExpiry("4", false), "04 / ");
  assert.equal(formatExpiry("12", false), "12 / ");
  assert.equal(formatExpiry("12", true), "12");
  assert.equal(formatExpiry("12 / 3", false), "12 / 3");
  assert.equal(formatExpiry("12 / 345", false), "12 / 34");
  assert.equal(formatExpiry("12/2034", false), "12 / 34");
});

test("the caret follows the digits it was after", () => {
  assert.equal(caretAfterDigits("4242 4242 42", 5), 6);
  assert.equal(caretAfterDigits("4242 4242 42", 4), 4);
  assert.equal(caretAfterDigits("4242", 0), 0);
});

test("merchant styles keep the allowed properties and safe values", () => {
  const css = styleRules({
    base: {
      color: "#32325d",
      fontFamily: '"Helvetica Neue", Arial, sans-serif',
      fontSize: "18px",
      backgroundImage: "none",
      "::placeholder": { color: "rgba(0, 0, 0, 0.4)" },
    },
    invalid: { color: "red" },
  });
  assert.match(css, /\.sr-input\{color:#32325d;font-family:"Helvetica Neue", Arial, sans-serif;font-size:18px;\}/);
  assert.match(css, /\.sr-input::placeholder\{color:rgba\(0, 0, 0, 0\.4\);\}/);
  assert.match(css, /\.sr-input\[aria-invalid="true"\]\{color:red;\}/);
  assert.doesNotMatch(css, /background-image/);
});

test("values that could fetch, escape or break out are dropped", () => {
  for (const value of [
    "url(https://evil.example/x)",
    "red;background:url(x)",
    "red}body{display:none",
    "\\75rl(x)",
    "image-set(x 1x)",
    'a"b',
    "x".repeat(201),
    {},
  ]) {
    assert.equal(safeValue(value), null, String(value));
  }
  assert.equal(safeValue(16), "16");
  assert.equal(safeValue("0 0 0 3px rgba(99, 91, 255, .25)"), "0 0 0 3px rgba(99, 91, 255, .25)");
});
