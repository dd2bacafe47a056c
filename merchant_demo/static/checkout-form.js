// Form mode: strongroom.js takes over the shop's form; the server receives only the token.
const form = document.getElementById("checkout");
if (window.Strongroom) {
  Strongroom.init({ key: form.dataset.key, apiUrl: form.dataset.apiUrl });
  Strongroom.form(form);
} else {
  // The library did not load (or its integrity check failed): take no card at all.
  form.querySelector("[data-strongroom-error]").textContent =
    "The payment library could not be loaded, so no card can be taken. Try again later.";
  for (const control of form.elements) control.disabled = true;
}
