// What the official Stripe Node SDK, unchanged, makes of awkward parameters, sent through
// a Strongroom edge: nested metadata, escapes, scripts, an unset, expand, a capture later.
// Usage: node awkward.mjs '{"key": "sk_test_…", "port": 8080, "card": "card_…",
//                           "metadata": {…}, "refused": {…}}'
// Prints what it saw as JSON; any unexpected error exits non-zero.
import Stripe from "stripe";

const config = JSON.parse(process.argv[2]);
const stripe = new Stripe(config.key, {
  host: "127.0.0.1",
  port: config.port,
  protocol: "http",
  maxNetworkRetries: 2, // its own Idempotency-Key on every POST
});

const held = await stripe.charges.create(
  {
    source: config.card,
    amount: 4200,
    currency: "usd",
    capture: false,
    description: "Zoë's order № 42",
    metadata: config.metadata,
    expand: ["source"],
  },
  { idempotencyKey: "node-awkward-1" },
);
const captured = await stripe.charges.capture(held.id, { amount: 4000 });
const refund = await stripe.refunds.create({ charge: held.id, amount: 1500 });
const unset = await stripe.charges.update(held.id, { metadata: { plus: "" } });

let refused = null;
try {
  await stripe.charges.create({ source: config.card, amount: 100, currency: "usd", ...config.refused });
} catch (error) {
  refused = { statusCode: error.statusCode, code: error.code };
}

console.log(
  JSON.stringify({
    held: { captured: held.captured, last4: held.source.last4, metadata: held.metadata },
    captured: { captured: captured.captured, amount: captured.amount_captured },
    refund: { status: refund.status, amount: refund.amount },
    unset: unset.metadata,
    refused,
  }),
);
