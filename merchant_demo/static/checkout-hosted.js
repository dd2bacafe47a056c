// Hosted-fields mode: the card inputs live in Strongroom's iframe; this page never sees
// the card, only its token, which it posts to the shop's server with the order.
const form = document.getElementById("checkout");
const errors = document.getElementById("card-errors");
const button = form.querySelector("button");

if (!window.Strongroom) {
  errors.textContent = "The payment library could not be loaded, so no card can be taken. Try again later.";
  button.disabled = true;
} else {
  Strongroom.init({ key: form.dataset.key });
  const fields = Strongroom.fields({
    style: {
      base: { color: "#1a1f36", fontSize: "16px", "::placeholder": { color: "#8792a2" } },
      invalid: { color: "#df1b41" },
    },
    placeholders: { number: "Card number", exp: "MM / YY", cvc: "CVC" },
  }).mount("#card-element");

  let busy = false;
  fields.on("change", (event) => {
    errors.textContent = event.error ? event.error.message : "";
  });
  fields.on("submit", () => form.requestSubmit());

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy) return;
    busy = true;
    button.disabled = true;
    errors.textContent = "";
    try {
      const token = await fields.tokenize();
      form.elements.strongroom_token.value = token.id;
      HTMLFormElement.prototype.submit.call(form);
    } catch (error) {
      errors.textContent = error.message;
      busy = false;
      button.disabled = false;
    }
  });
}
