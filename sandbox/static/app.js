// The local workspace page: draws the fake Slack's state and sends every user action to
// /workspace/..., where SlackClientSimulator turns it into exactly what Slack sends the bot.

import { collectInputs, h, keepOnScreen, renderBlocks, restoreInputs } from "./blocks.js";
import { mrkdwn, plainText, textObject } from "./mrkdwn.js";

const DEFAULT_CHANNEL = "C0SALES";
const COLORS = ["#e8912d", "#2eb67d", "#36c5f0", "#e01e5a", "#8b5cf6", "#ecb22e"];
const EXAMPLES = [
  "/deal help",
  "/deal list",
  "/deal pipeline",
  "/deal add Acme Corp 50k proposal close:next friday",
  "/deal stats",
];

const S = {
  state: null,
  me: localStorage.getItem("pipebot.me") || "U0ALICE",
  view: { kind: "channel", id: localStorage.getItem("pipebot.channel") || DEFAULT_CHANNEL },
  appTab: "home",
  thread: null,
  stickToBottom: false,
  keys: {},
  drawn: { context: null, nodes: new Map() },
  abort: null,
  seenViolations: null,
  users: {},
  channels: {},
};

const $ = (id) => document.getElementById(id);

// ------------------------------------------------------------------ talking to the server

async function post(path, body) {
  const res = await fetch(`/workspace/${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  let data = {};
  try {
    data = await res.json();
  } catch {
    data = { ok: false, error: `HTTP ${res.status}` };
  }
  if (!res.ok) {
    toast(data.error || `HTTP ${res.status}`, "error");
  } else if (data.status && data.status !== 200) {
    toast(`The bot answered HTTP ${data.status}`, "error");
  }
  return data;
}

async function busy(el, run) {
  el?.classList.add("busy");
  if (el) el.disabled = true;
  try {
    return await run();
  } finally {
    el?.classList.remove("busy");
    if (el) el.disabled = false;
  }
}

async function poll() {
  for (;;) {
    const since = S.state && S.state.me === S.me ? S.state.version : null;
    S.abort = new AbortController();
    try {
      const query = new URLSearchParams({ user: S.me });
      if (since) query.set("since", since);
      const res = await fetch(`/workspace/state?${query}`, { signal: S.abort.signal });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      apply(await res.json());
    } catch (err) {
      if (err.name !== "AbortError") {
        document.body.classList.add("offline");
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }
}

function refetch() {
  S.abort?.abort();
}

// ------------------------------------------------------------------ helpers

function toast(text, kind = "info") {
  const node = h("div", { class: `toast toast-${kind}`, role: kind === "error" ? "alert" : "status" }, text);
  $("toasts").append(node);
  setTimeout(() => node.remove(), kind === "error" ? 8000 : 6000);
}

function colorOf(id) {
  let sum = 0;
  for (const c of id) sum += c.charCodeAt(0);
  return COLORS[sum % COLORS.length];
}

function avatar(userId, size = "") {
  const user = S.users[userId];
  if (!user || user.is_bot) return h("div", { class: `avatar app-icon ${size}`, "aria-hidden": "true" });
  const initials = user.real_name.split(" ").map((p) => p[0]).join("").slice(0, 2);
  return h("div", { class: `avatar ${size}`, style: `background:${colorOf(userId)}`, "aria-hidden": "true" }, initials);
}

function displayName(userId) {
  const user = S.users[userId];
  if (!user) return userId;
  return user.is_bot ? "pipebot" : user.real_name;
}

function me() {
  return S.users[S.me];
}

function fmtTime(ts) {
  const tz = me()?.tz || "UTC";
  return new Intl.DateTimeFormat("en-US", { hour: "numeric", minute: "2-digit", timeZone: tz }).format(
    new Date(Number(ts) * 1000),
  );
}

function fmtDay(ts) {
  const tz = me()?.tz || "UTC";
  return new Intl.DateTimeFormat("en-US", { weekday: "long", month: "long", day: "numeric", timeZone: tz }).format(
    new Date(Number(ts) * 1000),
  );
}

function mdCtx(extra = {}) {
  // Dates render against the workspace's clock, which the demo can move ahead.
  const now = S.state?.clock?.now ? new Date(S.state.clock.now) : new Date();
  return { users: S.users, channels: S.channels, me: S.me, now, ...extra };
}

function changed(region, value) {
  const key = JSON.stringify(value);
  if (S.keys[region] === key) return false;
  S.keys[region] = key;
  return true;
}

function currentChannel() {
  if (S.view.kind === "channel") return S.view.id;
  return S.state?.channels.find((c) => c.is_im)?.id;
}

function closeMenus() {
  document.querySelectorAll(".menu").forEach((m) => m.classList.add("hidden"));
}

// ------------------------------------------------------------------ confirm dialogs

function confirmDialog(confirm) {
  return new Promise((resolve) => {
    const done = (answer) => {
      overlay.remove();
      resolve(answer);
    };
    const danger = confirm.style === "danger";
    const overlay = h(
      "div",
      { class: "overlay confirm-overlay" },
      h(
        "div",
        { class: "dialog confirm", role: "alertdialog", "data-testid": "confirm" },
        h("div", { class: "dialog-title", html: plainText(confirm.title || { text: "Are you sure?" }) }),
        h("div", { class: "dialog-text", html: textObject(confirm.text, mdCtx()) }),
        h(
          "div",
          { class: "dialog-buttons" },
          h("button", { type: "button", class: "btn", onclick: () => done(false), html: plainText(confirm.deny || { text: "Cancel" }) }),
          h("button", {
            type: "button",
            class: `btn ${danger ? "btn-danger" : "btn-primary"}`,
            "data-testid": "confirm-yes",
            onclick: () => done(true),
            html: plainText(confirm.confirm || { text: "Yes" }),
          }),
        ),
      ),
    );
    document.body.append(overlay);
  });
}

async function confirmed(element) {
  return !element.confirm || (await confirmDialog(element.confirm));
}

// ------------------------------------------------------------------ messages

function messageCtx(channel, ts) {
  return mdCtx({
    onAction: async (element, blockId, value) => {
      closeMenus();
      if (!(await confirmed(element))) return;
      await post("click", { user: S.me, channel, ts, block_id: blockId, action_id: element.action_id, value });
    },
  });
}

function shortcutMenu(channel, message) {
  const menu = h(
    "div",
    { class: "menu hidden", role: "menu" },
    h("div", { class: "menu-caption" }, "pipebot"),
    S.state.shortcuts.map((s) =>
      h(
        "button",
        {
          type: "button",
          class: "menu-item",
          "data-callback-id": s.callback_id,
          onclick: async (e) => {
            e.stopPropagation();
            closeMenus();
            await post("shortcut", { user: S.me, channel, ts: message.ts, callback_id: s.callback_id });
          },
        },
        s.name,
      ),
    ),
  );
  const toggle = h("button", {
    type: "button",
    class: "hover-btn",
    title: "More actions",
    "aria-label": "More actions",
    "data-testid": "message-more",
    html: "⋯",
    onclick: (e) => {
      e.stopPropagation();
      const hidden = menu.classList.contains("hidden");
      closeMenus();
      if (hidden) menu.classList.remove("hidden");
      keepOnScreen(menu);
    },
  });
  return h("div", { class: "overflow" }, toggle, menu);
}

function fileNode(file) {
  if (!file.image) {
    return h("a", { class: "file", href: `/${file.url}`, target: "_blank" }, `📎 ${file.title}`);
  }
  return h(
    "figure",
    { class: "file file-image", "data-file-id": file.id },
    h("figcaption", {}, file.title),
    h("a", { href: `/${file.url}`, target: "_blank", title: "Open full size" }, h("img", { src: `/${file.url}`, alt: file.title })),
  );
}

function messageNode(message, channel, { inThread = false } = {}) {
  const classes = ["message"];
  if (message.ephemeral) classes.push("ephemeral");
  if (message.bot) classes.push("from-bot");
  const body = h("div", { class: "message-body" });
  if (message.blocks?.length) {
    body.append(...renderBlocks(message.blocks, messageCtx(channel, message.ts)));
  } else if (message.text) {
    body.append(h("div", { class: "message-text", html: mrkdwn(message.text, mdCtx()) }));
  }
  for (const file of message.files || []) body.append(fileNode(file));
  const replies = message.replies || [];
  if (!inThread && replies.length) {
    body.append(
      h(
        "button",
        { type: "button", class: "replies-link", "data-testid": "replies-link", onclick: () => openThread(channel, message.ts) },
        h("span", { class: "reply-avatars" }, [...new Set(replies.map((r) => r.user))].slice(0, 3).map((u) => avatar(u, "tiny"))),
        `${replies.length} ${replies.length === 1 ? "reply" : "replies"}`,
        h("span", { class: "muted" }, ` Last reply ${fmtTime(replies[replies.length - 1].ts)}`),
      ),
    );
  }
  const tools = h("div", { class: "hover-tools" });
  if (!message.ephemeral) {
    if (!inThread) {
      tools.append(
        h("button", {
          type: "button",
          class: "hover-btn",
          title: "Reply in thread",
          "aria-label": "Reply in thread",
          html: "💬",
          onclick: () => openThread(channel, message.ts),
        }),
      );
    }
    tools.append(shortcutMenu(channel, message));
  }
  return h(
    "div",
    { class: classes.join(" "), "data-ts": message.ts, "data-channel": channel, "data-user": message.user },
    message.ephemeral
      ? h("div", { class: "ephemeral-note" }, h("span", { "aria-hidden": "true" }, "👁 "), "Only visible to you")
      : null,
    h(
      "div",
      { class: "message-row" },
      avatar(message.user),
      h(
        "div",
        { class: "message-main" },
        h(
          "div",
          { class: "message-meta" },
          h("span", { class: "author" }, displayName(message.user)),
          message.bot ? h("span", { class: "app-badge" }, "APP") : null,
          h("span", { class: "time", title: new Date(Number(message.ts) * 1000).toISOString() }, fmtTime(message.ts)),
          message.edited ? h("span", { class: "muted edited" }, "(edited)") : null,
        ),
        body,
      ),
    ),
    tools,
  );
}

function channelIntro(channel) {
  const chips = EXAMPLES.map((text) =>
    h("button", { type: "button", class: "chip", onclick: () => fillComposer(text) }, text),
  );
  const im = channel.is_im;
  return h(
    "div",
    { class: "intro" },
    h("div", { class: "intro-title" }, im ? "pipebot" : `#${channel.name}`),
    h(
      "p",
      { class: "muted" },
      im
        ? "Reminders and alerts pipebot sends you directly land here."
        : "This is a local Slack-like workspace. The pipebot you talk to here is the real bot, over HTTP, with signed requests. Try a command:",
    ),
    im ? null : h("div", { class: "chips" }, chips),
  );
}

function fillComposer(text) {
  const input = $("composer-input");
  input.value = text;
  input.focus();
  updateHint();
}

function renderMessages() {
  const state = S.state;
  const box = $("messages");
  if (S.view.kind === "app" && S.appTab === "home") return;
  const channelId = currentChannel();
  const channel = S.channels[channelId];
  if (!channel) return;
  const messages = state.messages[channelId] || [];
  if (!changed("messages", [channelId, S.me, messages, state.users, state.clock?.now?.slice(0, 10)])) return;
  const atBottom =
    S.stickToBottom || box.scrollHeight - box.scrollTop - box.clientHeight < 80 || box.dataset.channel !== channelId;
  S.stickToBottom = false;
  box.dataset.channel = channelId;
  // Like Slack, a message that did not change keeps its node: a posted reply or an edited
  // card does not redraw the rest of the channel (a selection or a hover elsewhere stays).
  // Only the messages shown now are remembered, so a long session holds no stale nodes.
  const context = JSON.stringify([channelId, S.me, state.users, state.channels]);
  const before = S.drawn.context === context ? S.drawn.nodes : new Map();
  const drawn = new Map();
  const nodes = [channelIntro(channel)];
  let day = null;
  for (const message of messages) {
    const thisDay = fmtDay(message.ts);
    if (thisDay !== day) {
      nodes.push(h("div", { class: "day-divider" }, h("span", {}, thisDay)));
      day = thisDay;
    }
    const key = JSON.stringify(message);
    const kept = before.get(message.ts);
    const node = kept && kept.key === key ? kept.node : messageNode(message, channelId);
    drawn.set(message.ts, { key, node });
    nodes.push(node);
  }
  S.drawn = { context, nodes: drawn };
  box.replaceChildren(...nodes);
  if (atBottom) keepAtBottom(box);
}

// Images arrive after the list is drawn: stay at the bottom while they grow it.
function keepAtBottom(box) {
  box.scrollTop = box.scrollHeight;
  for (const img of box.querySelectorAll("img")) {
    if (!img.complete) img.addEventListener("load", () => (box.scrollTop = box.scrollHeight), { once: true });
  }
}

// ------------------------------------------------------------------ thread panel

function openThread(channel, ts) {
  S.thread = { channel, ts };
  S.keys.thread = null;
  renderThread();
  $("thread-input").focus();
}

function renderThread() {
  const panel = $("thread");
  if (!S.thread || !S.state) {
    panel.classList.add("hidden");
    return;
  }
  const parent = (S.state.messages[S.thread.channel] || []).find((m) => m.ts === S.thread.ts);
  if (!parent) {
    S.thread = null;
    panel.classList.add("hidden");
    return;
  }
  panel.classList.remove("hidden");
  const opened = S.keys.thread === null;
  if (!changed("thread", [S.thread, S.me, parent])) return;
  const channel = S.channels[S.thread.channel];
  $("thread-channel").textContent = channel ? (channel.is_im ? "pipebot" : `#${channel.name}`) : "";
  const body = $("thread-body");
  const atBottom = body.scrollHeight - body.scrollTop - body.clientHeight < 80;
  const count = parent.replies.length;
  body.replaceChildren(
    messageNode(parent, S.thread.channel, { inThread: true }),
    h("div", { class: "thread-count" }, h("span", {}, `${count} ${count === 1 ? "reply" : "replies"}`)),
    ...parent.replies.map((r) => messageNode(r, S.thread.channel, { inThread: true })),
  );
  if (atBottom || opened) keepAtBottom(body);
}

// ------------------------------------------------------------------ App Home

function renderHome() {
  const box = $("home");
  const home = S.state.home;
  if (!changed("home", [S.me, home, S.state.users, S.state.clock?.now?.slice(0, 10)])) return;
  if (!home) {
    box.replaceChildren(h("div", { class: "home-empty muted" }, "Opening pipebot's Home…"));
    return;
  }
  const ctx = mdCtx({
    onAction: async (element, blockId, value) => {
      closeMenus();
      if (!(await confirmed(element))) return;
      await post("click_in_view", { user: S.me, view_id: home.id, block_id: blockId, action_id: element.action_id, value });
    },
  });
  box.replaceChildren(h("div", { class: "home-inner" }, renderBlocks(home.blocks, ctx)));
}

async function openHome() {
  S.keys.home = null;
  await post("home", { user: S.me });
}

// ------------------------------------------------------------------ modals

function renderModal() {
  const root = $("modal-root");
  const modal = S.state.modal;
  if (!modal) {
    S.keys.modal = null;
    root.replaceChildren();
    return;
  }
  if (!changed("modal", [modal.id, modal.hash, modal.errors, modal.depth, S.me])) return;
  const old = root.querySelector(".modal");
  const kept = old && old.dataset.viewId === modal.id ? collectInputs(old) : null;
  const form = h("form", { class: "modal-body", novalidate: true });
  const ctx = mdCtx({
    errors: modal.errors,
    onAction: async (element, blockId, value) => {
      closeMenus();
      if (!(await confirmed(element))) return;
      await post("click_in_view", {
        user: S.me,
        view_id: modal.id,
        block_id: blockId,
        action_id: element.action_id,
        value,
        inputs: collectInputs(form),
      });
    },
  });
  form.append(...renderBlocks(modal.blocks, ctx));
  const submit = modal.submit
    ? h("button", {
        type: "button",
        class: "btn btn-primary",
        "data-testid": "modal-submit",
        html: plainText(modal.submit),
        onclick: () => form.requestSubmit(),
      })
    : null;
  // Cancel on a pushed view goes back one view; the × closes the whole stack, as in Slack.
  const close = async () => {
    await post("close", { user: S.me, view_id: modal.id });
  };
  const closeAll = async () => {
    await post("close", { user: S.me, view_id: modal.root_view_id || modal.id });
  };
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    await busy(submit, () => post("submit", { user: S.me, view_id: modal.id, inputs: collectInputs(form) }));
  });
  const dialog = h(
    "div",
    { class: "dialog modal", role: "dialog", "aria-modal": "true", "data-view-id": modal.id, "data-callback-id": modal.callback_id, "data-testid": "modal" },
    h(
      "div",
      { class: "modal-header" },
      modal.depth > 1
        ? h("button", { type: "button", class: "close-x", "aria-label": "Back", title: "Back", onclick: close }, "←")
        : h("span", { class: "app-icon small", "aria-hidden": "true" }),
      h("div", { class: "modal-title", html: plainText(modal.title) }),
      h("button", { type: "button", class: "close-x", "aria-label": "Close", onclick: closeAll }, "×"),
    ),
    form,
    h(
      "div",
      { class: "modal-footer" },
      h("button", { type: "button", class: "btn", "data-testid": "modal-close", onclick: close, html: plainText(modal.close || { text: "Cancel" }) }),
      submit,
    ),
  );
  root.replaceChildren(h("div", { class: "overlay" }, dialog));
  if (kept) restoreInputs(form, kept);
  const firstError = form.querySelector(".has-error input, .has-error textarea, .has-error select");
  (firstError || form.querySelector("input, textarea, select"))?.focus();
}

// ------------------------------------------------------------------ chrome

function renderTopbar() {
  const state = S.state;
  const clock = state.clock;
  const when = new Intl.DateTimeFormat("en-GB", {
    weekday: "short",
    day: "numeric",
    month: "short",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    timeZone: clock.tz,
  }).format(new Date(clock.now));
  $("clock-now").textContent = `${when} · ${clock.tz}`;
  const moved = Math.round(clock.moved_days);
  $("clock-offset").textContent = moved > 0 ? `moved ahead ${moved} ${moved === 1 ? "day" : "days"}` : "";
  const user = me();
  if (changed("me", [S.me, state.users])) {
    $("me-button").replaceChildren(avatar(S.me, "small"), h("span", {}, user ? user.real_name : S.me), h("span", { class: "caret" }, "▾"));
    $("user-menu").replaceChildren(
      h("div", { class: "menu-caption" }, "Switch user: you act as this person"),
      ...state.users
        .filter((u) => !u.is_bot)
        .map((u) =>
          h(
            "button",
            { type: "button", class: `menu-item user-item${u.id === S.me ? " current" : ""}`, "data-user": u.id, onclick: () => switchUser(u.id) },
            avatar(u.id, "small"),
            h(
              "span",
              { class: "user-lines" },
              h("b", {}, u.real_name),
              h("span", { class: "muted" }, `${u.is_admin ? "Admin · sales manager" : "Sales rep"} · ${u.tz}`),
            ),
          ),
        ),
    );
  }
  const count = state.violations.length;
  const badge = $("violations-badge");
  badge.textContent = count === 1 ? "1 violation" : `${count} violations`;
  badge.classList.toggle("violations-bad", count > 0);
  badge.classList.toggle("violations-ok", count === 0);
  if (S.seenViolations !== null && count > S.seenViolations) showDev("violations");
  S.seenViolations = count;
}

function renderSidebar() {
  const list = $("channel-list");
  const channels = S.state.channels.filter((c) => !c.is_im);
  if (changed("sidebar", [channels, S.view, S.appTab])) {
    list.replaceChildren(
      ...channels.map((c) =>
        h(
          "button",
          {
            type: "button",
            class: `sidebar-item${S.view.kind === "channel" && S.view.id === c.id ? " active" : ""}`,
            "data-channel": c.id,
            onclick: () => showChannel(c.id),
          },
          h("span", { class: "hash" }, "#"),
          c.name,
        ),
      ),
    );
    $("app-item").classList.toggle("active", S.view.kind === "app");
  }
}

function renderMain() {
  const isApp = S.view.kind === "app";
  const channel = S.channels[currentChannel()];
  $("app-tabs").classList.toggle("hidden", !isApp);
  document.querySelectorAll("#app-tabs .tab").forEach((t) => t.classList.toggle("active", t.dataset.tab === S.appTab));
  const showHome = isApp && S.appTab === "home";
  $("home").classList.toggle("hidden", !showHome);
  $("messages").classList.toggle("hidden", showHome);
  $("composer").classList.toggle("hidden", showHome);
  if (isApp) {
    $("channel-title").replaceChildren(h("span", { class: "app-icon small" }), h("b", {}, "pipebot"));
  } else if (channel) {
    $("channel-title").replaceChildren(h("b", {}, `# ${channel.name}`));
  }
  $("composer-input").placeholder = isApp ? "Message pipebot" : `Message #${channel?.name || ""}`;
  if (showHome) renderHome();
  else renderMessages();
}

function renderDev() {
  const state = S.state;
  if (changed("violations", state.violations)) {
    $("dev-violations").replaceChildren(
      state.violations.length
        ? h("ol", { class: "violations" }, state.violations.map((v) => h("li", {}, v)))
        : h("p", { class: "muted" }, "Nothing so far: every call the bot made is one real Slack would accept."),
    );
  }
  if (changed("requests", state.deliveries.map((d) => d.id))) {
    $("dev-requests").replaceChildren(
      state.deliveries.length
        ? h(
            "div",
            { class: "requests" },
            [...state.deliveries].reverse().map((d) =>
              h(
                "details",
                { class: "request" },
                h(
                  "summary",
                  {},
                  h("span", { class: `status ${d.status === 200 ? "ok" : "bad"}` }, String(d.status)),
                  h("code", {}, d.what),
                  h("span", { class: "muted" }, ` ${d.elapsed_ms} ms · ${d.at}`),
                ),
                h("div", { class: "muted small" }, "Payload (what Slack sent, signed):"),
                h("pre", {}, JSON.stringify(d.payload, null, 2)),
                d.ack ? h("div", { class: "muted small" }, "Ack body:") : null,
                d.ack ? h("pre", {}, d.ack) : null,
              ),
            ),
          )
        : h("p", { class: "muted" }, "Commands, clicks and submissions you make are listed here."),
    );
  }
}

// Ephemeral messages live in the client that got them, as in Slack: those already there when
// this page (or this user's view of it) loaded are gone.
function dropOldEphemerals(state) {
  S.oldEphemerals ??= {};
  const seen = (S.oldEphemerals[S.me] ??= new Set(
    Object.entries(state.messages).flatMap(([channel, list]) =>
      list.filter((m) => m.ephemeral).map((m) => `${channel}:${m.ts}`),
    ),
  ));
  for (const [channel, list] of Object.entries(state.messages)) {
    state.messages[channel] = list.filter((m) => !(m.ephemeral && seen.has(`${channel}:${m.ts}`)));
  }
}

function apply(state) {
  document.body.classList.remove("offline");
  dropOldEphemerals(state);
  S.state = state;
  S.users = Object.fromEntries(state.users.map((u) => [u.id, u]));
  S.channels = Object.fromEntries(state.channels.map((c) => [c.id, c]));
  if (S.view.kind === "channel" && !S.channels[S.view.id]) S.view = { kind: "channel", id: DEFAULT_CHANNEL };
  renderTopbar();
  renderSidebar();
  renderMain();
  renderThread();
  renderModal();
  renderDev();
  // What the page shows now: tests wait for it before a screenshot.
  document.body.dataset.version = state.version;
}

function rerender() {
  S.keys = {};
  if (S.state) apply(S.state);
}

// ------------------------------------------------------------------ navigation

function showChannel(id) {
  if (S.view.kind !== "channel" || S.view.id !== id) S.thread = null;
  S.view = { kind: "channel", id };
  localStorage.setItem("pipebot.channel", id);
  rerender();
}

async function showApp(tab) {
  if (S.view.kind !== "app") S.thread = null;
  S.view = { kind: "app" };
  S.appTab = tab;
  rerender();
  if (tab === "home") await openHome();
}

async function switchUser(id) {
  closeMenus();
  if (id === S.me) return;
  S.me = id;
  localStorage.setItem("pipebot.me", id);
  S.thread = null;
  S.state = null;
  S.keys = {};
  refetch();
  if (S.view.kind === "app" && S.appTab === "home") await openHome();
}

function showDev(tab) {
  $("devpanel").classList.remove("hidden");
  document.querySelectorAll("#devpanel .tab").forEach((t) => t.classList.toggle("active", t.dataset.dev === tab));
  $("dev-violations").classList.toggle("hidden", tab !== "violations");
  $("dev-requests").classList.toggle("hidden", tab !== "requests");
}

// ------------------------------------------------------------------ composer

function updateHint() {
  const text = $("composer-input").value;
  const hint = $("command-hint");
  if (text.startsWith("/") && !text.includes("\n")) {
    const typed = text.split(" ")[0];
    const known = (S.state?.commands || []).filter((c) => c.startsWith(typed));
    hint.replaceChildren(
      ...(known.length
        ? known.map((c) =>
            h(
              "div",
              { class: "hint-row" },
              h("b", {}, c),
              h("span", { class: "muted" }, " add Acme Corp 50k proposal close:next friday @alice"),
              h("div", { class: "muted small" }, "Add, move and review deals in your pipeline · pipebot"),
            ),
          )
        : [h("div", { class: "hint-row muted" }, `No command ${typed} in this workspace`)]),
    );
    hint.classList.remove("hidden");
  } else {
    hint.classList.add("hidden");
  }
}

async function send(input, threadTs) {
  const text = input.value.trim();
  if (!text) return;
  const channel = threadTs ? S.thread.channel : currentChannel();
  input.value = "";
  if (!threadTs) S.stickToBottom = true;
  updateHint();
  const result = await post("send", { user: S.me, channel, text, thread_ts: threadTs || null });
  if (!result.ok && result.error) input.value = text;
}

function wireComposer(formId, inputId, threadTs) {
  const input = $(inputId);
  $(formId).addEventListener("submit", (e) => {
    e.preventDefault();
    send(input, threadTs());
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      send(input, threadTs());
    }
  });
  input.addEventListener("input", () => {
    input.style.height = "auto";
    input.style.height = `${Math.min(input.scrollHeight, 160)}px`;
  });
}

// ------------------------------------------------------------------ start

function wire() {
  wireComposer("composer", "composer-input", () => null);
  wireComposer("thread-composer", "thread-input", () => S.thread?.ts);
  $("composer-input").addEventListener("input", updateHint);
  $("thread-close").addEventListener("click", () => {
    S.thread = null;
    renderThread();
  });
  $("app-item").addEventListener("click", () => showApp("home"));
  document.querySelectorAll("#app-tabs .tab").forEach((t) => t.addEventListener("click", () => showApp(t.dataset.tab)));
  $("me-button").addEventListener("click", (e) => {
    e.stopPropagation();
    const menu = $("user-menu");
    const hidden = menu.classList.contains("hidden");
    closeMenus();
    if (hidden) menu.classList.remove("hidden");
    keepOnScreen(menu);
  });
  document.addEventListener("click", (e) => {
    if (!e.target.closest(".menu")) closeMenus();
    const link = e.target.closest(".channel-link");
    if (link && S.channels[link.dataset.channel]) showChannel(link.dataset.channel);
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && S.state?.modal && !document.querySelector(".confirm-overlay")) {
      post("close", { user: S.me, view_id: S.state.modal.id });
    }
  });
  document.querySelectorAll("[data-days]").forEach((b) =>
    b.addEventListener("click", () =>
      busy(b, async () => {
        S.stickToBottom = true;
        const r = await post("advance", { days: Number(b.dataset.days) });
        if (r.ok) toast(r.message);
      }),
    ),
  );
  document.querySelectorAll("[data-job]").forEach((b) =>
    b.addEventListener("click", () =>
      busy(b, async () => {
        S.stickToBottom = true;
        const r = await post("job", { kind: b.dataset.job });
        if (r.ok) toast(r.message);
      }),
    ),
  );
  $("violations-badge").addEventListener("click", () => {
    const panel = $("devpanel");
    if (panel.classList.contains("hidden")) showDev("violations");
    else panel.classList.add("hidden");
  });
  $("devpanel-close").addEventListener("click", () => $("devpanel").classList.add("hidden"));
  $("violations-clear").addEventListener("click", () => post("violations/clear", {}));
  document.querySelectorAll("#devpanel .tab").forEach((t) => t.addEventListener("click", () => showDev(t.dataset.dev)));
}

wire();
poll();

