// The merchant's styling of the card inputs, reduced to what cannot hurt: a list of
// properties and values without url(), escapes or anything that leaves the declaration.
// A value that could fetch (a background image) could carry what was typed to a server.

const PROPERTIES = new Set([
  "backgroundColor",
  "border",
  "borderBottom",
  "borderColor",
  "borderRadius",
  "borderStyle",
  "borderWidth",
  "boxShadow",
  "caretColor",
  "color",
  "fontFamily",
  "fontSize",
  "fontStyle",
  "fontVariant",
  "fontWeight",
  "letterSpacing",
  "lineHeight",
  "outline",
  "padding",
  "textAlign",
  "textDecoration",
  "textShadow",
  "textTransform",
]);

const SAFE_VALUE = /^[-\w\s#.,%()'"+/!]*$/;
const STATES = { base: "", focus: ":focus", invalid: '[aria-invalid="true"]', complete: ".complete" };

function kebab(name) {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function balanced(value, quote) {
  return value.split(quote).length % 2 === 1;
}

/** A CSS value the stylesheet may hold, or null. */
export function safeValue(value) {
  if (typeof value === "number") return String(value);
  if (typeof value !== "string" || value.length > 200 || !SAFE_VALUE.test(value)) return null;
  if (/url\s*\(|image|expression|attr\s*\(/i.test(value)) return null;
  return balanced(value, "'") && balanced(value, '"') ? value : null;
}

function declarations(map) {
  return Object.entries(map ?? {})
    .filter(([name]) => PROPERTIES.has(name))
    .map(([name, value]) => [kebab(name), safeValue(value)])
    .filter(([, value]) => value !== null)
    .map(([name, value]) => `${name}:${value};`)
    .join("");
}

/** The stylesheet text for `style` ({base, focus, invalid, complete}, each with "::placeholder"). */
export function styleRules(style) {
  const rules = [];
  for (const [state, selector] of Object.entries(STATES)) {
    const map = style?.[state];
    if (!map || typeof map !== "object") continue;
    rules.push(`.sr-input${selector}{${declarations(map)}}`);
    rules.push(`.sr-input${selector}::placeholder{${declarations(map["::placeholder"])}}`);
  }
  return rules.join("\n");
}

export const BASE_CSS = `
*{box-sizing:border-box;margin:0}
html,body{background:transparent;overflow:hidden}
body{padding:3px;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
.sr{display:grid;grid-template-columns:1fr 1fr;gap:8px}
.sr-input{grid-column:span 2;width:100%;min-width:0;font:inherit;font-size:16px;line-height:1.3;
padding:10px 12px;border:1px solid #c4c9d4;border-radius:6px;background:#fff;color:#1a1f36;outline:none}
.sr-input.half{grid-column:span 1}
.sr-input::placeholder{color:#8792a2}
.sr-input:focus{border-color:#635bff;box-shadow:0 0 0 3px rgba(99,91,255,.25)}
.sr-input[aria-invalid="true"]{border-color:#df1b41;color:#df1b41}
`;

/** Put the base sheet and the merchant's on the document (CSSOM: no inline style needed). */
export function applyStyle(doc, style) {
  const base = new CSSStyleSheet();
  base.replaceSync(BASE_CSS);
  const merchant = new CSSStyleSheet();
  merchant.replaceSync(styleRules(style));
  doc.adoptedStyleSheets = [base, merchant];
}
