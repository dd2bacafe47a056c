// POST /v1/cards: the one request that carries card data, straight to the vault's host.

const CONNECTION_ERROR = {
  type: "api_connection_error",
  code: "connection_failed",
  message: "Could not reach the payment service. Check your connection and try again.",
};

const UNEXPECTED_RESPONSE = {
  type: "api_error",
  code: "unexpected_response",
  message: "The payment service could not take the card. Please try again.",
};

/** A publishable key, or an Error that says what is wrong with it (never a secret key). */
export function checkKey(key) {
  if (typeof key === "string" && /^sk_(test|live)_/.test(key)) {
    return new Error(
      "Strongroom: that is a secret key (sk_…). Use your publishable key (pk_…) in the " +
        "browser, and roll the secret key: it is no longer secret.",
    );
  }
  if (typeof key !== "string" || !/^pk_(test|live)_[A-Za-z0-9]+$/.test(key)) {
    return new Error("Strongroom: init needs your publishable key: {key: \"pk_test_…\"}.");
  }
  return null;
}

/**
 * The API's base URL, as seen from the script at `scriptUrl`: "js.<domain>" serves the
 * bundle and "api.<domain>" the API. `override` (a build setting or an init option) wins.
 */
export function apiUrlFor(scriptUrl, override) {
  if (override) return String(override).replace(/\/+$/, "");
  const url = new URL(scriptUrl);
  if (url.hostname.startsWith("js.")) url.hostname = "api." + url.hostname.slice(3);
  return url.origin;
}

/**
 * Tokenise `card` ({number, exp_month, exp_year, cvc, name?}) with the publishable `key`.
 * Resolves to {token: {id, brand, last4, exp_month, exp_year, livemode}} or to
 * {error: {type, code, message, param?}}; it never rejects and no error quotes the card.
 */
export async function createToken(apiUrl, key, card, fetchImpl = globalThis.fetch) {
  let response;
  try {
    response = await fetchImpl(`${apiUrl}/v1/cards`, {
      method: "POST",
      mode: "cors",
      credentials: "omit", // no cookies: the key is the only credential
      cache: "no-store",
      referrerPolicy: "strict-origin",
      headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
      body: JSON.stringify(card),
    });
  } catch {
    return { error: CONNECTION_ERROR };
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON: reported below as an unexpected response.
  }
  if (response.status === 201 && typeof body?.id === "string" && body.id.startsWith("card_")) {
    const { id, brand, last4, exp_month, exp_year, livemode } = body;
    return { token: { id, brand, last4, exp_month, exp_year, livemode } };
  }
  const error = body?.error;
  if (error && typeof error.message === "string" && typeof error.code === "string") {
    const shown = { type: String(error.type), code: error.code, message: error.message };
    if (typeof error.param === "string") shown.param = error.param;
    return { error: shown };
  }
  return { error: { ...UNEXPECTED_RESPONSE, status: response.status } };
}
