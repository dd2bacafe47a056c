// The card-fields page, served from the js host and framed by a merchant's page. It alone
// holds the card: it sends it to the vault itself and gives the page only the token,
// the brand and whether the inputs are complete.

/* global API_URL */
import { apiUrlFor, checkKey, createToken } from "../api.js";
import { brandOf, cvcLengths, digitsOf, fieldError, formatNumber, numberLengths, validateCard } from "../card.js";
import { accept, isId, message } from "../protocol.js";
import { formatExpiry, reformat } from "./format.js";
import { applyStyle } from "./style.js";

const INPUTS = {
  number: { name: "cardnumber", autocomplete: "cc-number", label: "Card number", placeholder: "1234 1234 1234 1234", numeric: true },
  exp: { name: "exp-date", autocomplete: "cc-exp", label: "Expiration date (MM / YY)", placeholder: "MM / YY", numeric: true, half: true },
  cvc: { name: "cvc", autocomplete: "cc-csc", label: "Security code", placeholder: "CVC", numeric: true, half: true },
  name: { name: "ccname", autocomplete: "cc-name", label: "Name on card", placeholder: "Name on card" },
};

/** The configuration the merchant's page put in the fragment, or null if it is unusable. */
function readConfig() {
  let config;
  try {
    config = JSON.parse(decodeURIComponent(location.hash.slice(1)));
  } catch {
    return null;
  }
  if (!config || !isId(config.id) || checkKey(config.key)) return null;
  try {
    if (new URL(config.origin).origin !== config.origin) return null;
  } catch {
    return null;
  }
  // The framing page must be the one the configuration names, where the browser says so.
  const ancestors = location.ancestorOrigins;
  if (window.parent === window || (ancestors && ancestors[0] !== config.origin)) return null;
  const fields = Array.isArray(config.fields) ? config.fields.filter((f) => f in INPUTS) : [];
  for (const required of ["number", "exp", "cvc"]) {
    if (!fields.includes(required)) fields.push(required);
  }
  return { ...config, fields };
}

const config = readConfig();
if (config) start(config);

function start(settings) {
  const apiUrl = apiUrlFor(location.href, API_URL);
  const send = (type, data) => window.parent.postMessage(message(type, settings.id, data), settings.origin);
  const form = document.createElement("form");
  form.className = "sr";
  form.noValidate = true;
  const inputs = {};
  const touched = new Set();
  let busy = false;

  for (const field of ["name", "number", "exp", "cvc"].filter((f) => settings.fields.includes(f))) {
    const spec = INPUTS[field];
    const input = document.createElement("input");
    Object.assign(input, { id: field, name: spec.name, autocomplete: spec.autocomplete });
    input.className = spec.half ? "sr-input half" : "sr-input";
    input.setAttribute("aria-label", spec.label);
    input.placeholder = String(settings.placeholders?.[field] ?? spec.placeholder);
    if (spec.numeric) input.inputMode = "numeric";
    input.spellcheck = false;
    input.addEventListener("input", (event) => onInput(field, event));
    input.addEventListener("focus", () => send("focus", { field }));
    input.addEventListener("blur", () => {
      touched.add(field);
      report();
      send("blur", { field });
    });
    inputs[field] = input;
    form.append(input);
  }
  // This form is never sent anywhere. Enter asks the page to pay: with several inputs and
  // no submit button, a browser submits nothing on Enter by itself.
  form.addEventListener("submit", (event) => event.preventDefault());
  form.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.isComposing) {
      event.preventDefault();
      send("submit");
    }
  });
  document.body.append(form);
  applyStyle(document, settings.style);

  function onInput(field, event) {
    const input = inputs[field];
    if (field === "number") {
      const digits = (input.value.match(/\d/g) ?? []).join("");
      const max = Math.max(...numberLengths(brandOf(digits)));
      reformat(input, formatNumber(digits.slice(0, max)));
      if (inputs.cvc) inputs.cvc.maxLength = Math.max(...cvcLengths(brandOf(digits)));
    } else if (field === "exp") {
      input.value = formatExpiry(input.value, event.inputType?.startsWith("delete"));
    } else if (field === "cvc") {
      input.value = input.value.replace(/\D/g, "").slice(0, 4);
    }
    report();
  }

  const values = () => Object.fromEntries(Object.entries(inputs).map(([f, input]) => [f, input.value]));

  // Each field's error, or null; an incomplete field is shown as one only once left.
  function fieldErrors() {
    const current = values();
    const codes = Object.fromEntries((validateCard(current).errors ?? []).map((e) => [e.param, e.code]));
    const errors = {};
    for (const field of Object.keys(inputs)) {
      const code = codes[field];
      const shown = code && current[field] !== "" && (touched.has(field) || !code.startsWith("incomplete"));
      errors[field] = code ? { code, shown } : null;
    }
    return { brand: brandOf(digitsOf(current.number) ?? ""), errors };
  }

  function report() {
    const { brand, errors } = fieldErrors();
    let first = null;
    for (const [field, error] of Object.entries(errors)) {
      if (error?.shown) inputs[field].setAttribute("aria-invalid", "true");
      else inputs[field].removeAttribute("aria-invalid");
      inputs[field].classList.toggle("complete", !error);
      if (error?.shown && !first) first = fieldError(error.code, field);
    }
    const complete = Object.values(errors).every((e) => !e);
    const empty = Object.values(inputs).every((input) => input.value === "");
    send("change", { complete, empty, brand, error: first });
  }

  async function tokenize(nonce) {
    if (busy) return; // the page waits on the first answer
    const checked = validateCard(values());
    if (checked.errors) {
      for (const field of Object.keys(inputs)) touched.add(field);
      report();
      send("result", { nonce, error: checked.errors[0] });
      return;
    }
    busy = true;
    form.setAttribute("aria-busy", "true");
    const result = await createToken(apiUrl, settings.key, checked.card);
    busy = false;
    form.removeAttribute("aria-busy");
    send("result", { nonce, ...result });
  }

  window.addEventListener("message", (event) => {
    const data = accept(event, window.parent, settings.origin, settings.id);
    if (!data) return;
    if (data.type === "tokenize") tokenize(data.nonce);
    else if (data.type === "clear") {
      for (const input of Object.values(inputs)) input.value = "";
      touched.clear();
      report();
    } else if (data.type === "focus") inputs[data.field]?.focus();
    else if (data.type === "style") applyStyle(document, data.style);
  });

  const resize = () => send("resize", { height: document.documentElement.scrollHeight });
  new ResizeObserver(resize).observe(document.body);
  resize();
  send("ready");
}
