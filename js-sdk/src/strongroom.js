// strongroom.js: `Strongroom.init({key})`, then `Strongroom.form(selector)` for a form of
// your own or `Strongroom.fields(options).mount(selector)` for card inputs in an iframe.

/* global API_URL, FIELDS_PAGE, VERSION */
import { apiUrlFor, checkKey, createToken } from "./api.js";
import { validateCard } from "./card.js";
import { attachForm } from "./form.js";
import { HostedFields, StrongroomError } from "./hosted.js";

// Where this script was loaded from: the js host, which also serves the fields page.
const scriptUrl = document.currentScript?.src || location.href;
let settings = null;

function configured() {
  if (!settings) throw new Error("Strongroom: call Strongroom.init({key: \"pk_…\"}) first.");
  return settings;
}

/** Set the publishable key (and, rarely, `apiUrl`); throws on a secret or malformed key. */
function init(options = {}) {
  const problem = checkKey(options.key);
  if (problem) throw problem;
  settings = Object.freeze({
    key: options.key,
    apiUrl: apiUrlFor(scriptUrl, options.apiUrl || API_URL),
    scriptUrl,
    fieldsPage: FIELDS_PAGE,
  });
  return Strongroom;
}

/** Form mode: see form.js. */
function form(target, options) {
  return attachForm(target, configured(), options);
}

/** Hosted-fields mode: see hosted.js. */
function fields(options) {
  return new HostedFields(configured(), options);
}

/** Tokenise a card object directly, for pages that build their own flow. */
async function createCardToken(input) {
  const checked = validateCard(input);
  if (checked.errors) return { error: checked.errors[0] };
  return createToken(configured().apiUrl, configured().key, checked.card);
}

const Strongroom = Object.freeze({
  version: VERSION,
  init,
  form,
  fields,
  createToken: createCardToken,
  validateCard,
  StrongroomError,
});

window.Strongroom = Strongroom;
