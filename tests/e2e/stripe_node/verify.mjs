// Verifies one webhook delivery (its raw body on stdin) with the official Node SDK.
// Usage: node verify.mjs '{"secret": "whsec_…", "header": "t=…,v1=…"}' < body
import Stripe from "stripe";

const { secret, header } = JSON.parse(process.argv[2]);
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const event = new Stripe("sk_test_unused").webhooks.constructEvent(
  Buffer.concat(chunks),
  header,
  secret,
);
console.log(JSON.stringify({ type: event.type, id: event.data.object.id }));
