// Block Kit to DOM: messages, App Home and modals, with every interactive element wired to
// ctx.onAction(element, blockId, value) and modal inputs tagged for the page to collect.

import { escapeHtml, mrkdwn, plainText, textObject } from "./mrkdwn.js";

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "html") el.innerHTML = value;
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function optionsOf(element) {
  const found = [...(element.options || [])];
  for (const group of element.option_groups || []) found.push(...(group.options || []));
  return found;
}

function optionNodes(element, selected) {
  const groups = element.option_groups;
  const make = (o) =>
    h("option", { value: o.value, selected: o.value === selected }, plainText(o.text).replace(/<[^>]+>/g, ""));
  if (groups && groups.length) {
    return groups.map((g) => h("optgroup", { label: g.label?.text || "" }, (g.options || []).map(make)));
  }
  return (element.options || []).map(make);
}

function placeholderOption(element, fallback) {
  const text = element.placeholder?.text || fallback;
  return h("option", { value: "", class: "placeholder" }, text);
}

function humans(ctx) {
  return Object.values(ctx.users).filter((u) => !u.is_bot);
}

// ------------------------------------------------------------------ interactive elements

function button(element, blockId, ctx) {
  const style = element.style ? ` btn-${element.style}` : "";
  return h(
    "button",
    {
      type: "button",
      class: `btn${style}`,
      "data-action-id": element.action_id,
      "data-block-id": blockId,
      html: plainText(element.text),
      onclick: () => ctx.onAction(element, blockId, null),
    },
  );
}

function staticSelect(element, blockId, ctx, { input = false } = {}) {
  const initial = element.initial_option?.value ?? "";
  const select = h(
    "select",
    {
      class: "select",
      "data-action-id": element.action_id,
      "data-block-id": blockId,
      "data-type": element.type,
      onchange: input ? null : (e) => e.target.value && ctx.onAction(element, blockId, e.target.value),
    },
    placeholderOption(element, "Select an item"),
    optionNodes(element, initial),
  );
  select.value = initial;
  return select;
}

function usersSelect(element, blockId, ctx, { input = false } = {}) {
  const initial = element.initial_user || "";
  const select = h(
    "select",
    {
      class: "select",
      "data-action-id": element.action_id,
      "data-block-id": blockId,
      "data-type": element.type,
      onchange: input ? null : (e) => e.target.value && ctx.onAction(element, blockId, e.target.value),
    },
    placeholderOption(element, "Select a person"),
    humans(ctx).map((u) => h("option", { value: u.id }, `${u.real_name} (@${u.name})`)),
  );
  select.value = initial;
  return select;
}

function channelsSelect(element, blockId, ctx, { input = false } = {}) {
  const initial = element.initial_channel || element.initial_conversation || "";
  const select = h(
    "select",
    {
      class: "select",
      "data-action-id": element.action_id,
      "data-block-id": blockId,
      "data-type": element.type,
      onchange: input ? null : (e) => e.target.value && ctx.onAction(element, blockId, e.target.value),
    },
    placeholderOption(element, "Select a channel"),
    Object.values(ctx.channels)
      .filter((c) => !c.is_im)
      .map((c) => h("option", { value: c.id }, `#${c.name}`)),
  );
  select.value = initial;
  return select;
}

function datepicker(element, blockId, ctx, { input = false } = {}) {
  const picker = h("input", {
    type: "date",
    class: "datepicker",
    value: element.initial_date || "",
    "data-action-id": element.action_id,
    "data-block-id": blockId,
    "data-type": element.type,
    onchange: input ? null : (e) => e.target.value && ctx.onAction(element, blockId, e.target.value),
  });
  return picker;
}

function timepicker(element, blockId) {
  return h("input", {
    type: "time",
    class: "datepicker",
    value: element.initial_time || "",
    "data-action-id": element.action_id,
    "data-block-id": blockId,
    "data-type": element.type,
  });
}

// Slack keeps a menu on screen: it opens upward when the space below (above the composer) is
// too short, and shifts left when it would pass the window's right edge.
export function keepOnScreen(menu) {
  menu.classList.remove("menu-up");
  menu.style.removeProperty("transform");
  if (menu.classList.contains("hidden")) return;
  const margin = 8;
  const composer = document.getElementById("composer");
  const floor = Math.min(window.innerHeight, composer && !menu.closest(".topbar") ? composer.getBoundingClientRect().top : Infinity);
  let rect = menu.getBoundingClientRect();
  if (rect.bottom > floor - margin) {
    menu.classList.add("menu-up");
    rect = menu.getBoundingClientRect();
    if (rect.top < margin) menu.classList.remove("menu-up");
  }
  const right = rect.right - (window.innerWidth - margin);
  const left = margin - rect.left;
  if (right > 0) menu.style.transform = `translateX(${-Math.ceil(right)}px)`;
  else if (left > 0) menu.style.transform = `translateX(${Math.ceil(left)}px)`;
}

function overflow(element, blockId, ctx) {
  const wrap = h("div", { class: "overflow" });
  const menu = h(
    "div",
    { class: "menu hidden", role: "menu" },
    (element.options || []).map((o) =>
      h("button", {
        type: "button",
        class: "menu-item",
        "data-value": o.value,
        html: plainText(o.text),
        onclick: (e) => {
          e.stopPropagation();
          menu.classList.add("hidden");
          ctx.onAction(element, blockId, o.value);
        },
      }),
    ),
  );
  const toggle = h("button", {
    type: "button",
    class: "btn btn-icon",
    title: "More actions",
    "aria-label": "More actions",
    "data-action-id": element.action_id,
    "data-block-id": blockId,
    html: "&#8942;",
    onclick: (e) => {
      e.stopPropagation();
      document.querySelectorAll(".menu").forEach((m) => m !== menu && m.classList.add("hidden"));
      menu.classList.toggle("hidden");
      keepOnScreen(menu);
    },
  });
  wrap.append(toggle, menu);
  return wrap;
}

function image(element, cls = "accessory-image") {
  return h("img", { class: cls, src: element.image_url, alt: element.alt_text || "", title: element.alt_text || "" });
}

function plainInput(element, blockId) {
  const attrs = {
    class: "text-input",
    placeholder: element.placeholder?.text || "",
    maxlength: element.max_length || null,
    "data-action-id": element.action_id,
    "data-block-id": blockId,
    "data-type": element.type,
  };
  if (element.multiline) {
    const area = h("textarea", { ...attrs, rows: 4 });
    area.value = element.initial_value || "";
    return area;
  }
  const box = h("input", { ...attrs, type: element.type === "number_input" ? "number" : element.type === "email_text_input" ? "email" : element.type === "url_text_input" ? "url" : "text" });
  box.value = element.initial_value || "";
  return box;
}

export function element(el, blockId, ctx, opts = {}) {
  switch (el.type) {
    case "button":
      return button(el, blockId, ctx);
    case "static_select":
    case "external_select":
      return staticSelect(el, blockId, ctx, opts);
    case "users_select":
      return usersSelect(el, blockId, ctx, opts);
    case "conversations_select":
    case "channels_select":
      return channelsSelect(el, blockId, ctx, opts);
    case "datepicker":
      return datepicker(el, blockId, ctx, opts);
    case "timepicker":
      return timepicker(el, blockId);
    case "overflow":
      return overflow(el, blockId, ctx);
    case "image":
      return image(el);
    case "plain_text_input":
    case "number_input":
    case "email_text_input":
    case "url_text_input":
      return plainInput(el, blockId);
    default:
      return h("span", { class: "unsupported" }, `[${el.type} is not drawn by this page]`);
  }
}

// ------------------------------------------------------------------ blocks

function section(block, ctx) {
  const body = h("div", { class: "section-body" });
  if (block.text) body.append(h("div", { class: "section-text", html: textObject(block.text, ctx) }));
  if (block.fields?.length) {
    body.append(
      h("div", { class: "fields" }, block.fields.map((f) => h("div", { class: "field", html: textObject(f, ctx) }))),
    );
  }
  const row = h("div", { class: "block block-section", "data-block-id": block.block_id }, body);
  if (block.accessory) row.append(h("div", { class: "accessory" }, element(block.accessory, block.block_id, ctx)));
  return row;
}

function context(block, ctx) {
  return h(
    "div",
    { class: "block block-context", "data-block-id": block.block_id },
    (block.elements || []).map((e) =>
      e.type === "image" ? image(e, "context-image") : h("span", { class: "context-item", html: textObject(e, ctx) }),
    ),
  );
}

function actions(block, ctx) {
  return h(
    "div",
    { class: "block block-actions", "data-block-id": block.block_id },
    (block.elements || []).map((e) => element(e, block.block_id, ctx)),
  );
}

function imageBlock(block) {
  return h(
    "figure",
    { class: "block block-image", "data-block-id": block.block_id },
    block.title ? h("figcaption", { html: plainText(block.title) }) : null,
    h("img", { src: block.image_url, alt: block.alt_text || "" }),
  );
}

function input(block, ctx) {
  const error = ctx.errors?.[block.block_id];
  const el = block.element || {};
  const control = element(el, block.block_id, ctx, { input: true });
  return h(
    "div",
    { class: `block block-input${error ? " has-error" : ""}`, "data-block-id": block.block_id },
    h(
      "label",
      { class: "input-label" },
      h("span", { html: plainText(block.label) }),
      block.optional ? h("span", { class: "optional" }, " (optional)") : null,
    ),
    control,
    block.hint ? h("div", { class: "hint", html: plainText(block.hint) }) : null,
    error ? h("div", { class: "field-error", role: "alert", "data-error-for": block.block_id }, error) : null,
  );
}

function richText(block, ctx) {
  const text = (block.elements || [])
    .flatMap((section) => section.elements || [])
    .map((e) => e.text || (e.type === "user" ? `<@${e.user_id}>` : e.url || ""))
    .join("");
  return h("div", { class: "block block-section", html: mrkdwn(text, ctx) });
}

export function renderBlocks(blocks, ctx) {
  const out = [];
  for (const block of blocks || []) {
    switch (block.type) {
      case "header":
        out.push(h("div", { class: "block block-header", "data-block-id": block.block_id, html: plainText(block.text) }));
        break;
      case "section":
        out.push(section(block, ctx));
        break;
      case "context":
        out.push(context(block, ctx));
        break;
      case "divider":
        out.push(h("hr", { class: "block block-divider" }));
        break;
      case "actions":
        out.push(actions(block, ctx));
        break;
      case "image":
        out.push(imageBlock(block));
        break;
      case "input":
        out.push(input(block, ctx));
        break;
      case "rich_text":
        out.push(richText(block, ctx));
        break;
      default:
        out.push(h("div", { class: "unsupported" }, `[${escapeHtml(block.type)} block is not drawn by this page]`));
    }
  }
  return out;
}

// What the user typed or picked in a modal, as {block_id: {action_id: value}}.
export function collectInputs(root) {
  const inputs = {};
  for (const el of root.querySelectorAll("[data-type][data-block-id][data-action-id]")) {
    const block = el.getAttribute("data-block-id");
    const action = el.getAttribute("data-action-id");
    (inputs[block] ||= {})[action] = el.value === "" ? null : el.value;
  }
  return inputs;
}

export function restoreInputs(root, inputs) {
  for (const el of root.querySelectorAll("[data-type][data-block-id][data-action-id]")) {
    const saved = inputs[el.getAttribute("data-block-id")]?.[el.getAttribute("data-action-id")];
    if (saved !== undefined) el.value = saved ?? "";
  }
}

export { optionsOf };
