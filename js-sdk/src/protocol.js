// The messages between a merchant's page and the card-fields iframe. Every message names
// the channel and the fields instance; a receiver also checks the sender's window and origin.

export const CHANNEL = "strongroom";

/** Fields instance ids: 16 random base-36 characters, checked on every message. */
export function newId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => (b % 36).toString(36)).join("");
}

export function isId(value) {
  return typeof value === "string" && /^[0-9a-z]{16}$/.test(value);
}

export function message(type, id, data = {}) {
  return { ...data, channel: CHANNEL, type, id };
}

/**
 * The message's data if it comes from window `source` at `origin` for instance `id`,
 * else null: a page may hold other frames and other scripts that post messages.
 */
export function accept(event, source, origin, id) {
  const data = event.data;
  if (event.source !== source || event.origin !== origin) return null;
  if (!data || typeof data !== "object" || data.channel !== CHANNEL || data.id !== id) return null;
  return typeof data.type === "string" ? data : null;
}
