// Slack's mrkdwn to HTML: enough to read what the bot writes, escaped everywhere.

const EMOJI = {
  white_check_mark: "✅", heavy_check_mark: "✔️", x: "❌", warning: "⚠️", trophy: "🏆",
  calendar: "📅", date: "📅", hourglass: "⌛", hourglass_flowing_sand: "⏳", zzz: "💤",
  wastebasket: "🗑️", telephone_receiver: "📞", phone: "📞", sparkles: "✨", memo: "📝",
  handshake: "🤝", email: "📧", envelope: "✉️", construction: "🚧", arrow_forward: "▶️",
  chart_with_upwards_trend: "📈", chart_with_downwards_trend: "📉", bar_chart: "📊",
  moneybag: "💰", money_with_wings: "💸", dollar: "💵", euro: "💶", tada: "🎉", rocket: "🚀",
  fire: "🔥", bell: "🔔", pushpin: "📌", point_right: "👉", eyes: "👀", wave: "👋",
  thumbsup: "👍", "+1": "👍", thumbsdown: "👎", "-1": "👎", clock1: "🕐", alarm_clock: "⏰",
  mag: "🔍", link: "🔗", lock: "🔒", bulb: "💡", star: "⭐", question: "❓",
  exclamation: "❗", heavy_plus_sign: "➕", heavy_minus_sign: "➖", arrow_right: "➡️",
  arrow_up: "⬆️", arrow_down: "⬇️", busts_in_silhouette: "👥", bust_in_silhouette: "👤",
  inbox_tray: "📥", outbox_tray: "📤", clipboard: "📋", spiral_calendar_pad: "🗓️",
  large_green_circle: "🟢", large_yellow_circle: "🟡", red_circle: "🔴", new: "🆕",
  speech_balloon: "💬", information_source: "ℹ️", no_entry: "⛔", stopwatch: "⏱️",
  snail: "🐌", crossed_fingers: "🤞", handshake_tone1: "🤝", briefcase: "💼",
};

export function escapeHtml(text) {
  return String(text)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

// Slack escapes &, < and > in message text; show them as the characters they stand for.
function unescapeSlack(text) {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

// Text content only needs &, < and > escaped; quotes stay readable for the style rules.
function escapeText(text) {
  return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

export function emojify(html) {
  return html.replace(/:([a-z0-9_+-]*[a-z][a-z0-9_+-]*):/g, (whole, name) =>
    EMOJI[name] ? `<span class="emoji" title=":${name}:">${EMOJI[name]}</span>` : whole,
  );
}

export function plainText(obj) {
  if (!obj) return "";
  const text = typeof obj === "string" ? obj : obj.text || "";
  const html = escapeHtml(text);
  return obj.emoji === false ? html : emojify(html);
}

function safeUrl(url) {
  return /^(https?:|mailto:|tel:)/i.test(url) ? url : "#";
}

// One <...> token: mentions, channels, special commands, dates, links.
function token(inner, ctx) {
  const [target, label] = splitOnce(inner, "|");
  if (target.startsWith("@")) {
    const id = target.slice(1);
    const user = ctx.users[id];
    const name = label || (user ? user.name : id);
    return `<span class="mention${id === ctx.me ? " mention-me" : ""}" data-user="${escapeHtml(id)}">@${escapeHtml(name)}</span>`;
  }
  if (target.startsWith("#")) {
    const id = target.slice(1);
    const channel = ctx.channels[id];
    const name = label || (channel ? channel.name : id);
    return `<span class="channel-link" data-channel="${escapeHtml(id)}">#${escapeHtml(name)}</span>`;
  }
  if (target.startsWith("!")) {
    const command = target.slice(1);
    if (command.startsWith("date^")) return slackDate(command, label, ctx);
    if (["here", "channel", "everyone"].includes(command)) {
      return `<span class="mention">@${command}</span>`;
    }
    if (command.startsWith("subteam^")) {
      return `<span class="mention">${escapeHtml(label || "@group")}</span>`;
    }
    return escapeHtml(label || command);
  }
  const url = unescapeSlack(target);
  const text = label ? unescapeSlack(label) : url;
  return `<a href="${escapeHtml(safeUrl(url))}" target="_blank" rel="noopener noreferrer">${escapeHtml(text)}</a>`;
}

// <!date^1700000000^{date_short_pretty} at {time}|fallback>: Slack renders it in the reader's
// timezone, and shows the fallback only when it cannot.
const ORDINAL = (n) => n + (["th", "st", "nd", "rd"][(n % 100 > 10 && n % 100 < 14) || n % 10 > 3 ? 0 : n % 10]);

function dateParts(date, tz) {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: tz, year: "numeric", month: "long", day: "numeric", weekday: "long",
    hour: "numeric", minute: "2-digit", second: "2-digit",
  }).formatToParts(date);
  return Object.fromEntries(parts.map((p) => [p.type, p.value]));
}

function dayKey(date, tz) {
  return new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" }).format(date);
}

function pretty(date, tz, now, fallback) {
  const day = 86400000;
  const key = dayKey(date, tz);
  if (key === dayKey(now, tz)) return "today";
  if (key === dayKey(new Date(now.getTime() - day), tz)) return "yesterday";
  if (key === dayKey(new Date(now.getTime() + day), tz)) return "tomorrow";
  return fallback;
}

export function formatSlackDate(seconds, format, tz, now = new Date()) {
  const date = new Date(seconds * 1000);
  const p = dateParts(date, tz);
  const month3 = p.month.slice(0, 3);
  const dayNum = Number(p.day);
  const values = {
    date_num: dayKey(date, tz),
    date: `${p.month} ${ORDINAL(dayNum)}, ${p.year}`,
    date_short: `${month3} ${dayNum}, ${p.year}`,
    date_long: `${p.weekday}, ${p.month} ${ORDINAL(dayNum)}, ${p.year}`,
    time: `${p.hour}:${p.minute} ${p.dayPeriod}`,
    time_secs: `${p.hour}:${p.minute}:${p.second} ${p.dayPeriod}`,
  };
  values.date_pretty = pretty(date, tz, now, values.date);
  values.date_short_pretty = pretty(date, tz, now, values.date_short);
  values.date_long_pretty = pretty(date, tz, now, values.date_long);
  return format.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? values[name] : whole));
}

function slackDate(command, label, ctx) {
  const [, seconds, format] = command.split("^");
  const tz = ctx.users?.[ctx.me]?.tz;
  if (!tz || !/^[0-9]+$/.test(seconds || "") || !format) return escapeHtml(unescapeSlack(label || command));
  try {
    return escapeHtml(formatSlackDate(Number(seconds), unescapeSlack(format), tz, ctx.now || new Date()));
  } catch (error) {
    return escapeHtml(unescapeSlack(label || command));
  }
}

function splitOnce(text, sep) {
  const at = text.indexOf(sep);
  return at < 0 ? [text, ""] : [text.slice(0, at), text.slice(at + 1)];
}

// Bold, italic, strike on already-escaped text; placeholders (\u0000n\u0000) pass through.
function styles(html) {
  const edge = "(^|[\\s(\\[\"'\\u0000>])";
  const end = "(?=$|[\\s.,;:!?)\\]\"'\\u0000<])";
  return html
    .replace(new RegExp(`${edge}\\*(?!\\s)([^*\\n]+?)\\*${end}`, "g"), "$1<b>$2</b>")
    .replace(new RegExp(`${edge}_(?!\\s)([^_\\n]+?)_${end}`, "g"), "$1<i>$2</i>")
    .replace(new RegExp(`${edge}~(?!\\s)([^~\\n]+?)~${end}`, "g"), "$1<s>$2</s>");
}

function inline(text, ctx) {
  const saved = [];
  const keep = (html) => {
    saved.push(html);
    return `\u0000${saved.length - 1}\u0000`;
  };
  let out = "";
  // Inline code first: nothing inside it is formatted.
  const parts = text.split(/(`[^`\n]+`)/g);
  for (const part of parts) {
    if (/^`[^`\n]+`$/.test(part)) {
      out += keep(`<code>${escapeHtml(unescapeSlack(part.slice(1, -1)))}</code>`);
      continue;
    }
    out += part.replace(/<([^<>\n]+)>/g, (_, inner) => keep(token(inner, ctx)));
  }
  let html = escapeText(unescapeSlack(out));
  html = styles(html);
  html = emojify(html);
  html = html
    .split("\n")
    .map((line) =>
      line.startsWith("&gt; ") || line === "&gt;"
        ? `<span class="quote">${line.replace(/^&gt; ?/, "")}</span>`
        : line,
    )
    .join("<br>");
  return html.replace(/\u0000(\d+)\u0000/g, (_, n) => saved[Number(n)]);
}

export function mrkdwn(text, ctx) {
  if (!text) return "";
  const chunks = String(text).split(/```/);
  return chunks
    .map((chunk, index) => {
      if (index % 2 === 1 && index < chunks.length - 1) {
        const body = chunk.replace(/^\n/, "").replace(/\n$/, "");
        return `<pre class="code-block">${escapeHtml(unescapeSlack(body))}</pre>`;
      }
      const prefix = index % 2 === 1 ? "```" : "";
      return inline(prefix + chunk, ctx);
    })
    .join("");
}

export function textObject(obj, ctx) {
  if (!obj) return "";
  return obj.type === "mrkdwn" ? mrkdwn(obj.text, ctx) : plainText(obj);
}
