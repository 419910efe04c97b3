/* RRMM assistant web chat widget: a small client of Rasa's socket.io channel (bot.channels.webchat).
 *
 * Embedding (docs/channels.md): load vendor/socket.io.min.js, then this script, from the assistant's
 * server; the widget draws itself into the element #rrmm-chat (or data-target="id") and talks to the server
 * it was loaded from (or data-server="https://..."). Nothing is loaded from anywhere else.
 *
 * The session id and the transcript are kept in localStorage, so a reload continues the conversation;
 * "New conversation" forgets both. With socket authentication on (docs/security.md), the page that embeds the
 * widget passes a JWT as data-token="..." on this script tag. A message the server could not accept comes back
 * as bot_uttered {text, error} and is shown as an error, never dropped silently. Recommendations arrive as HTML rendered and escaped by the server
 * (bot.channels.render.render_html); every other text is inserted as text.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var data = (script && script.dataset) || {};
  var server = data.server || (script && script.src ? new URL(script.src, location.href).origin : location.origin);
  var target = document.getElementById(data.target || "rrmm-chat");
  if (!target) { return; }
  var storeKey = "rrmm-chat:" + server;
  var MAX_ENTRIES = 100;
  var DISCLAIMER = "Decision support for clinicians, not a substitute for clinical judgement. Verify doses, " +
    "labels and local availability before prescribing. Please do not enter patient identifiers " +
    "(names, record numbers, dates of birth, contact details).";
  var EXAMPLE = "68M, 2 prior lines, refractory to lenalidomide and daratumumab, fit, not transplant eligible, " +
    "clinical relapse";

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  function load() {
    try { return JSON.parse(localStorage.getItem(storeKey)) || {}; } catch (e) { return {}; }
  }
  function save() {
    try {
      localStorage.setItem(storeKey, JSON.stringify({ session: state.session, entries: state.entries.slice(-MAX_ENTRIES) }));
    } catch (e) { /* storage full or disabled: the conversation still works, without reload memory */ }
  }

  var stored = load();
  var state = { session: stored.session || null, entries: stored.entries || [], ready: false, queue: [] };

  // ---- the widget's elements ----
  target.classList.add("rrmm-chat");
  var head = el("header", "rrmm-head");
  head.appendChild(el("h1", "rrmm-title", "RRMM assistant"));
  var status = el("span", "rrmm-status", "connecting");
  status.setAttribute("data-state", "connecting");
  head.appendChild(status);
  var reset = el("button", "rrmm-reset", "New conversation");
  reset.type = "button";
  head.appendChild(reset);
  var disclaimer = el("p", "rrmm-disclaimer-banner", DISCLAIMER);
  disclaimer.setAttribute("role", "note");
  var log = el("div", "rrmm-log");
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");
  var form = el("form", "rrmm-form");
  var input = el("textarea", "rrmm-input");
  input.id = "rrmm-input";
  input.rows = 2;
  input.placeholder = "Describe the case, e.g. " + EXAMPLE;
  input.setAttribute("aria-label", "Message");
  var send = el("button", "rrmm-send", "Send");
  send.id = "rrmm-send";
  send.type = "submit";
  form.appendChild(input);
  form.appendChild(send);
  [head, disclaimer, log, form].forEach(function (e) { target.appendChild(e); });

  var pending = null;
  function showPending(on) {
    if (pending) { pending.remove(); pending = null; }
    if (on) {
      pending = el("div", "rrmm-msg rrmm-bot rrmm-pending", "…");
      pending.setAttribute("aria-label", "The assistant is answering");
      log.appendChild(pending);
      scroll();
    }
  }
  function scroll() { log.scrollTop = log.scrollHeight; }

  function renderEntry(entry, isLast) {
    var row;
    if (entry.who === "user") {
      row = el("div", "rrmm-msg rrmm-user", entry.text);
    } else if (entry.html) {
      row = el("div", "rrmm-msg rrmm-bot rrmm-bot-rec");
      row.innerHTML = entry.html; // server-rendered, every value escaped (bot/channels/render.py)
    } else if (entry.error) {
      row = el("div", "rrmm-msg rrmm-bot rrmm-error", entry.text);
      row.setAttribute("role", "alert");
    } else {
      row = el("div", "rrmm-msg rrmm-bot", entry.text);
      if (entry.replies && entry.replies.length && isLast) {
        var bar = el("div", "rrmm-replies");
        entry.replies.forEach(function (r) {
          var b = el("button", "rrmm-reply", r.title);
          b.type = "button";
          b.addEventListener("click", function () { bar.remove(); say(r.payload, r.title); });
          bar.appendChild(b);
        });
        row.appendChild(bar);
      }
    }
    log.appendChild(row);
  }

  function redraw() {
    log.textContent = "";
    if (!state.entries.length) {
      log.appendChild(el("div", "rrmm-msg rrmm-hint",
        "Describe the patient in one message, for example: " + EXAMPLE +
        ". Then ask \"why not KRd?\", \"what did CANDOR show?\", \"summary\" or \"new case\"."));
    }
    state.entries.forEach(function (e, i) { renderEntry(e, i === state.entries.length - 1); });
    scroll();
  }

  function add(entry) {
    var replies = log.querySelectorAll(".rrmm-replies");
    replies.forEach(function (r) { r.remove(); });
    var hint = log.querySelector(".rrmm-hint");
    if (hint) { hint.remove(); }
    state.entries.push(entry);
    if (state.entries.length > MAX_ENTRIES) { state.entries = state.entries.slice(-MAX_ENTRIES); }
    save();
    renderEntry(entry, true);
    scroll();
  }

  // ---- the connection (Rasa's socket.io protocol) ----
  var options = { path: data.socketPath || "/socket.io", transports: ["websocket", "polling"] };
  if (data.token) { options.auth = { token: data.token }; }
  var socket = io(server, options);

  function setStatus(s, text) { status.setAttribute("data-state", s); status.textContent = text; }

  socket.on("connect", function () {
    setStatus("connecting", "connecting");
    socket.emit("session_request", { session_id: state.session });
  });
  socket.on("session_confirm", function (id) {
    if (state.session && id !== state.session) { state.entries = []; redraw(); } // the server started afresh
    state.session = id;
    state.ready = true;
    save();
    setStatus("online", "online");
    var q = state.queue;
    state.queue = [];
    q.forEach(function (m) { socket.emit("user_uttered", { message: m, session_id: state.session }); });
  });
  socket.on("disconnect", function () { state.ready = false; setStatus("offline", "offline, reconnecting"); });
  socket.on("connect_error", function (err) {
    var refused = err && err.message && err.message.indexOf("authentication failed") === 0;
    setStatus("offline", refused ? "not signed in to the assistant" : "cannot reach the assistant");
  });
  socket.on("bot_uttered", function (msg) {
    if (!msg) { return; }
    showPending(false);
    if (msg.html) {
      add({ who: "bot", html: msg.html });
    } else if (msg.error) {
      add({ who: "bot", text: msg.text || "The assistant could not accept that message.", error: msg.error });
    } else if (msg.text) {
      add({ who: "bot", text: msg.text, replies: msg.quick_replies || [] });
    }
  });

  function say(message, shown) {
    message = (message || "").trim();
    if (!message) { return; }
    add({ who: "user", text: shown || message });
    showPending(true);
    if (state.ready) {
      socket.emit("user_uttered", { message: message, session_id: state.session });
    } else {
      state.queue.push(message);
    }
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    say(input.value);
    input.value = "";
    input.focus();
  });
  input.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); form.requestSubmit ? form.requestSubmit() : send.click(); }
  });
  reset.addEventListener("click", function () {
    state.entries = [];
    state.session = null;
    state.ready = false;
    save();
    showPending(false);
    redraw();
    socket.emit("session_request", { session_id: null });
    input.focus();
  });

  redraw();
})();
