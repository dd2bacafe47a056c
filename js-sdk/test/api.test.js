import assert from "node:assert/strict";
import { test } from "node:test";
import { apiUrlFor, checkKey, createToken } from "../src/api.js";

const CARD = { number: "4242424242424242", exp_month: 12, exp_year: 2034, cvc: "123" };

function reply(status, body) {
  const calls = [];
  const fetchImpl = async (url, init) => {
    calls.push({ url, init });
    return { status, json: async () => (body instanceof Error ? Promise.reject(body) : body) };
  };
  return { calls, fetchImpl };
}

test("publishable keys pass; secret and malformed keys are refused loudly", () => {
  assert.equal(checkKey("pk_test_abc123"), null);
  assert.equal(checkKey("pk_live_abc123"), null);
  assert.match(checkKey("sk_test_abc123").message, /secret key/);
  assert.match(checkKey("").message, /publishable key/);
  assert.match(checkKey(undefined).message, /publishable key/);
  assert.match(checkKey("pk_test_a b").message, /publishable key/);
});

test("the api host is the js host's sibling unless told otherwise", () => {
  assert.equal(apiUrlFor("http://js.localhost:8080/strongroom.abc.js"), "http://api.localhost:8080");
  assert.equal(apiUrlFor("https://js.strongroom.example/x.js"), "https://api.strongroom.example");
  assert.equal(apiUrlFor("http://127.0.0.1:8080/x.js"), "http://127.0.0.1:8080");
  assert.equal(apiUrlFor("http://js.localhost/x.js", "http://127.0.0.1:9/"), "http://127.0.0.1:9");
});

test("a card is posted as JSON with the key as bearer and no cookies", async () => {
  const { calls, fetchImpl } = reply(201, {
    id: "card_abc",
    object: "card",
    last4: "4242",
    brand: "visa",
    exp_month: 12,
    exp_year: 2034,
    fingerprint: "fp",
    livemode: false,
  });
  const result = await createToken("http://api.localhost:8080", "pk_test_x", CARD, fetchImpl);
  assert.deepEqual(result, {
    token: { id: "card_abc", brand: "visa", last4: "4242", exp_month: 12, exp_year: 2034, livemode: false },
  });
  const [{ url, init }] = calls;
  assert.equal(url, "http://api.localhost:8080/v1/cards");
  assert.equal(init.method, "POST");
  assert.equal(init.credentials, "omit");
  assert.equal(init.headers.Authorization, "Bearer pk_test_x");
  assert.equal(init.headers["Content-Type"], "application/json");
  assert.deepEqual(JSON.parse(init.body), CARD);
});

test("the vault's card errors come back as they are", async () => {
  const error = { type: "card_error", code: "invalid_cvc", message: "Your card's security code is invalid.", param: "cvc" };
  const { fetchImpl } = reply(402, { error });
  assert.deepEqual(await createToken("http://a", "pk_test_x", CARD, fetchImpl), { error });
});

test("the edge's refusals come back too", async () => {
  const error = { type: "invalid_request_error", code: "body_too_large", message: "The request body is too large." };
  const { fetchImpl } = reply(413, { error });
  assert.deepEqual(await createToken("http://a", "pk_test_x", CARD, fetchImpl), { error });
});

test("a network failure or an odd answer is an error, never a rejection", async () => {
  const failing = async () => {
    throw new TypeError("Failed to fetch");
  };
  const offline = await createToken("http://a", "pk_test_x", CARD, failing);
  assert.equal(offline.error.type, "api_connection_error");

  const { fetchImpl } = reply(502, new SyntaxError("not json"));
  const odd = await createToken("http://a", "pk_test_x", CARD, fetchImpl);
  assert.equal(odd.error.code, "unexpected_response");

  const notCard = reply(201, { id: "ch_123" });
  const wrong = await createToken("http://a", "pk_test_x", CARD, notCard.fetchImpl);
  assert.equal(wrong.error.code, "unexpected_response");
});
