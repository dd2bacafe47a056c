import assert from "node:assert/strict";
import { test } from "node:test";
import { accept, isId, message, newId } from "../src/protocol.js";

const source = {};
const ID = newId();

test("ids are 16 base-36 characters", () => {
  assert.ok(isId(ID));
  assert.ok(!isId("short"));
  assert.ok(!isId("ABCDEFGHIJKLMNOP"));
  assert.notEqual(newId(), newId());
});

test("a message from the right window, origin and instance is accepted", () => {
  const data = message("change", ID, { complete: true });
  assert.deepEqual(accept({ data, source, origin: "http://js.localhost" }, source, "http://js.localhost", ID), data);
});

test("a message from anywhere else is ignored", () => {
  const data = message("result", ID, { token: { id: "card_x" } });
  const origin = "http://js.localhost";
  assert.equal(accept({ data, source: {}, origin }, source, origin, ID), null);
  assert.equal(accept({ data, source, origin: "http://evil.localhost" }, source, origin, ID), null);
  assert.equal(accept({ data: { ...data, id: newId() }, source, origin }, source, origin, ID), null);
  assert.equal(accept({ data: { ...data, channel: "other" }, source, origin }, source, origin, ID), null);
  assert.equal(accept({ data: "string", source, origin }, source, origin, ID), null);
  assert.equal(accept({ data: null, source, origin }, source, origin, ID), null);
});

test("a message cannot overwrite its own channel, type or id", () => {
  const data = message("ready", ID, { channel: "x", type: "y", id: "z" });
  assert.deepEqual([data.channel, data.type, data.id], ["strongroom", "ready", ID]);
});
