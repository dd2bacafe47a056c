// Form mode: the merchant's own form, whose card fields have no name attribute so the
// browser never posts them; on submit the card goes to the vault and only its token to
// the merchant.

import { createToken } from "./api.js";
import { validateCard } from "./card.js";

const ROLES = ["number", "exp", "exp_month", "exp_year", "cvc", "name"];
const AUTOCOMPLETE = {
  number: "cc-number",
  exp: "cc-exp",
  exp_month: "cc-exp-month",
  exp_year: "cc-exp-year",
  cvc: "cc-csc",
  name: "cc-name",
};

function resolveForm(target) {
  const form = typeof target === "string" ? document.querySelector(target) : target;
  if (!(form instanceof HTMLFormElement)) {
    throw new Error(`Strongroom.form: ${String(target)} is not a <form>.`);
  }
  return form;
}

function cardFields(form) {
  const fields = {};
  for (const element of form.querySelectorAll("[data-strongroom]")) {
    const role = element.getAttribute("data-strongroom");
    if (!ROLES.includes(role)) throw new Error(`Strongroom.form: unknown data-strongroom="${role}".`);
    if (element.hasAttribute("name")) {
      // Fail closed: a named card field would be posted to the merchant if this script
      // ever failed; take the name away rather than let the card out.
      element.removeAttribute("name");
      console.error(`Strongroom: removed the name of the ${role} field; card fields must have none.`);
    }
    if (!element.hasAttribute("autocomplete")) element.setAttribute("autocomplete", AUTOCOMPLETE[role]);
    fields[role] = element;
  }
  const hasExpiry = fields.exp || (fields.exp_month && fields.exp_year);
  if (!fields.number || !fields.cvc || !hasExpiry) {
    throw new Error(
      'Strongroom.form: the form needs fields marked data-strongroom="number", "exp" ' +
        '(or "exp_month" and "exp_year") and "cvc".',
    );
  }
  return fields;
}

function errorBox(form) {
  let box = form.querySelector("[data-strongroom-error]");
  if (!box) {
    box = document.createElement("div");
    box.setAttribute("data-strongroom-error", "");
    form.append(box);
  }
  box.setAttribute("role", "alert");
  return box;
}

function hiddenInput(form, name) {
  let input = form.querySelector(`input[type="hidden"][name="${CSS.escape(name)}"]`);
  if (!input) {
    input = document.createElement("input");
    input.type = "hidden";
    input.name = name;
    form.append(input);
  }
  return input;
}

function fieldFor(fields, param) {
  if (param === "exp_month" || param === "exp_year") return fields[param] ?? fields.exp;
  return fields[param];
}

/**
 * Take over the submission of `target` (a <form> or a selector): validate, tokenise,
 * put the token into a hidden input named `options.tokenName` (default
 * "strongroom_token"), clear the card fields and submit the form.
 */
export function attachForm(target, settings, options = {}) {
  const form = resolveForm(target);
  const fields = cardFields(form);
  const box = errorBox(form);
  const tokenName = options.tokenName ?? "strongroom_token";
  let busy = false;

  const buttons = () => form.querySelectorAll('button:not([type]), [type="submit"]');

  function setBusy(value) {
    busy = value;
    form.toggleAttribute("aria-busy", value);
    for (const button of buttons()) button.disabled = value;
  }

  function showError(error) {
    box.textContent = error.message;
    const field = fieldFor(fields, error.param);
    if (field) {
      field.setAttribute("aria-invalid", "true");
      field.focus();
    }
    form.dispatchEvent(new CustomEvent("strongroom:error", { detail: error }));
  }

  function reset() {
    box.textContent = "";
    for (const field of Object.values(fields)) field.removeAttribute("aria-invalid");
  }

  async function onSubmit(event) {
    event.preventDefault();
    if (busy) return; // a second click while the first card is on its way
    reset();
    const token = hiddenInput(form, tokenName);
    token.value = "";
    const values = Object.fromEntries(Object.entries(fields).map(([role, el]) => [role, el.value]));
    const checked = validateCard(values);
    if (checked.errors) {
      showError(checked.errors[0]);
      return;
    }
    setBusy(true);
    const result = await createToken(settings.apiUrl, settings.key, checked.card);
    if (result.error) {
      setBusy(false);
      showError(result.error);
      return;
    }
    token.value = result.token.id;
    for (const field of Object.values(fields)) field.value = "";
    const proceed = form.dispatchEvent(
      new CustomEvent("strongroom:token", { detail: result.token, cancelable: true }),
    );
    if (!proceed) {
      setBusy(false); // the merchant's script sends the form itself
      return;
    }
    if (event.submitter?.name) {
      hiddenInput(form, event.submitter.name).value = event.submitter.value;
    }
    // The prototype's submit: a control named "submit" would shadow form.submit. It fires
    // no submit event, so this handler does not run again.
    HTMLFormElement.prototype.submit.call(form);
  }

  form.addEventListener("submit", onSubmit);
  // Back from the next page, the browser may restore this page as it was: busy.
  window.addEventListener("pageshow", (event) => event.persisted && setBusy(false));
  return {
    form,
    destroy() {
      form.removeEventListener("submit", onSubmit);
    },
  };
}
