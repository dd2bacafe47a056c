// The card flow with the official Stripe Node SDK, pointed at a Strongroom edge.
// Usage: node checkout.mjs '{"key": "sk_test_…", "port": 8080, "webhook_url": "http://…"}'
// Prints what it saw as JSON; any unexpected error exits non-zero.
import Stripe from "stripe";

const config = JSON.parse(process.argv[2]);
const stripe = new Stripe(config.key, {
  host: "127.0.0.1",
  port: config.port,
  protocol: "http",
  maxNetworkRetries: 0,
});
const card = (number) => ({ number, exp_month: 12, exp_year: 2040, cvc: "123" });

const endpoint = await stripe.webhookEndpoints.create({
  url: config.webhook_url,
  enabled_events: ["charge.succeeded"],
});
const token = await stripe.tokens.create({ card: card("4242424242424242") });
const customer = await stripe.customers.create({ source: token.id, metadata: { order: "N-1" } });
const charge = await stripe.charges.create(
  { customer: customer.id, amount: 1500, currency: "usd" },
  { idempotencyKey: "node-order-N-1" },
);
const refund = await stripe.refunds.create({ charge: charge.id, amount: 700 });

const declinedCard = await stripe.tokens.create({ card: card("4000000000000002") });
let decline = null;
try {
  await stripe.charges.create({ source: declinedCard.id, amount: 500, currency: "usd" });
} catch (error) {
  decline = { type: error.type, code: error.code, statusCode: error.statusCode };
}

const listed = [];
for await (const each of stripe.charges.list({ limit: 1 })) {
  listed.push(each.id);
}

console.log(
  JSON.stringify({
    secret: endpoint.secret,
    token: { id: token.id, object: token.object },
    charge: { id: charge.id, status: charge.status, paid: charge.paid },
    refund: { status: refund.status, amount: refund.amount },
    decline,
    listed,
  }),
);
