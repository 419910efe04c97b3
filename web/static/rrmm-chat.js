/* RRMM assistant web chat: a small client of Rasa's socket.io channel (bot/plugins/channels/webchat.py).
 *
 * Two ways in (docs/channels.md):
 * - the page /chat/ (and the older four-tag embed): this script, loaded after vendor/socket.io.min.js, draws the
 *   chat into the element #rrmm-chat (or data-target="id") and talks to the server it was loaded from (or
 *   data-server="https://..."); data-socket-path and data-token (a JWT, docs/security.md) as attributes;
 * - the one-tag widget (embed.js): it loads this script with data-rrmm-embed and calls RRMMChat.mount() itself,
 *   inside its Shadow DOM.
 * `RRMMChat.mount(container, options)` builds the chat in `container` (options: server, io, socketPath, token,
 * heading ("h1" or "h2"), onClose: a close button calls it) and returns {focus()}.
 *
 * The session id and the transcript (the last 100 entries) are kept in localStorage, so a reload continues the
 * conversation; "New conversation" forgets both. A message the server could not accept comes back as bot_uttered
 * {text, error} and is shown as an error, never dropped silently. Recommendations arrive as HTML rendered and escaped
 * by the server (bot/plugins/channels/render.py render_html), with their copy-to-note text ("Copy to note" copies
 * it) and their plain-text twin, which follows as a standard text message for third-party widgets and is skipped
 * here; every other text is inserted as text. Nothing is loaded from anywhere but the server. When the connection
 * fails, the chat asks the server (/chat/origin) whether this page's origin is allowed, and if not says so, with
 * the setting the administrator changes (RRMM_WEBCHAT_ORIGINS), instead of "cannot reach the assistant".
 *
 * A recommendation shows its first screen; "Show details" is a <details> disclosure (keyboard and screen readers
 * work natively) and its buttons (`.rrmm-ask`, `data-say`) ask for one layer as if typed. A new answer scrolls so
 * that the first line of the turn's answer (a correction's "Changed: ..." or the recommendation itself) is at the
 * top of the conversation, not its end: the ranked options stay in view.
 */
(function () {
  "use strict";
  var script = document.currentScript;
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

  function button(cls, text, label) {
    var b = el("button", cls, text);
    b.type = "button";
    if (label) { b.setAttribute("aria-label", label); }
    return b;
  }

  // ---- copy to the clipboard: the Clipboard API where the page may use it, else a selected text area ----
  function copyText(text, area, done) {
    function fallback() {
      area.hidden = false;
      area.value = text;
      area.focus();
      area.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      if (ok) { area.hidden = true; }
      done(ok ? "Copied: paste it into the note." : "Press Ctrl+C (or Cmd+C) to copy the selected text.");
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { done("Copied: paste it into the note."); }, fallback);
    } else {
      fallback();
    }
  }

  function mount(target, options) {
    var opts = options || {};
    var server = opts.server || location.origin;
    var io = opts.io || window.io;
    var storeKey = "rrmm-chat:" + server;

    function load() {
      try { return JSON.parse(localStorage.getItem(storeKey)) || {}; } catch (e) { return {}; }
    }
    function save() {
      try {
        localStorage.setItem(storeKey, JSON.stringify({ session: state.session, entries: state.entries.slice(-MAX_ENTRIES) }));
      } catch (e) { /* storage full or disabled: the conversation still works, without reload memory */ }
    }

    var stored = load();
    var state = { session: stored.session || null, entries: stored.entries || [], ready: false, queue: [],
                  skipText: null, turnStart: null, anchor: null, rec: null };

    // ---- the chat's elements ----
    target.classList.add("rrmm-chat");
    var head = el(opts.heading === "h2" ? "div" : "header", "rrmm-head"); // one banner landmark per page
    var title = el(opts.heading || "h1", "rrmm-title", "RRMM assistant");
    title.id = "rrmm-title";
    head.appendChild(title);
    var status = el("span", "rrmm-status", "connecting");
    status.setAttribute("data-state", "connecting");
    status.setAttribute("role", "status");
    head.appendChild(status);
    var reset = button("rrmm-reset", "New conversation");
    head.appendChild(reset);
    if (opts.onClose) {
      var close = button("rrmm-close", "\u00d7", "Close the assistant");
      close.addEventListener("click", function () { opts.onClose(); });
      head.appendChild(close);
    }
    var disclaimer = el("p", "rrmm-disclaimer-banner", DISCLAIMER);
    disclaimer.setAttribute("role", "note");
    var log = el("div", "rrmm-log");
    log.setAttribute("role", "log");
    log.setAttribute("aria-live", "polite");
    log.setAttribute("aria-label", "Conversation");
    log.tabIndex = 0; // keyboard users can scroll it
    var form = el("form", "rrmm-form");
    var input = el("textarea", "rrmm-input");
    input.id = "rrmm-input";
    input.rows = 2;
    input.placeholder = "Describe the case, e.g. " + EXAMPLE;
    input.setAttribute("aria-label", "Message to the assistant");
    var send = el("button", "rrmm-send", "Send");
    send.id = "rrmm-send";
    send.type = "submit";
    form.appendChild(input);
    form.appendChild(send);
    var copyArea = el("textarea", "rrmm-copy-area");
    copyArea.hidden = true;
    copyArea.readOnly = true;
    copyArea.setAttribute("aria-label", "Summary for the clinical note");
    var parts = [head, disclaimer, log, form, copyArea];
    if ((opts.heading || "h1") === "h1") { // headings in order: the recommendations' are h3
      parts.splice(2, 0, el("h2", "rrmm-sr-only", "Conversation"));
    }
    parts.forEach(function (e) { target.appendChild(e); });

    var pending = null;
    function showPending(on) {
      if (pending) { pending.remove(); pending = null; }
      if (on) {
        pending = el("div", "rrmm-msg rrmm-bot rrmm-pending", "\u2026");
        pending.setAttribute("aria-label", "The assistant is answering");
        log.appendChild(pending);
        scroll();
      }
    }
    // the end of the conversation, unless this turn's answer holds a recommendation: then its first line stays on top
    // (what precedes the recommendation in its turn, a change line or a late answer to the message before, stays in
    // view above it only while the first option's first line still fits below: otherwise the recommendation goes on top)
    function scroll() {
      if (state.anchor && state.anchor.isConnected) {
        var top = state.anchor;
        if (state.rec && state.rec.isConnected && state.rec !== top) {
          var first = state.rec.querySelector(".rrmm-first li") || state.rec;
          if (first.getBoundingClientRect().top + 24 - top.getBoundingClientRect().top > log.clientHeight - 8) {
            top = state.rec;
          }
        }
        log.scrollTop = top.offsetTop - log.offsetTop - 8;
      } else {
        log.scrollTop = log.scrollHeight;
      }
    }

    function noteButton(entry, row) {
      var bar = el("div", "rrmm-note-bar");
      var b = button("rrmm-copy-note", "Copy to note");
      b.title = "Copy a plain-text summary (no identifiers) for the clinical note";
      var said = el("span", "rrmm-copy-status");
      said.setAttribute("role", "status");
      b.addEventListener("click", function () {
        copyText(entry.note, copyArea, function (message) { said.textContent = message; });
      });
      bar.appendChild(b);
      bar.appendChild(said);
      row.appendChild(bar);
    }

    function renderEntry(entry, isLast) {
      var row;
      if (entry.who === "user") {
        row = el("div", "rrmm-msg rrmm-user", entry.text);
      } else if (entry.html) {
        row = el("div", "rrmm-msg rrmm-bot rrmm-bot-rec");
        var body = el("div", "rrmm-rec-body");
        body.innerHTML = entry.html; // server-rendered, every value escaped (bot/plugins/channels/render.py)
        row.appendChild(body);
        if (entry.note) { noteButton(entry, row); }
      } else if (entry.error) {
        row = el("div", "rrmm-msg rrmm-bot rrmm-error", entry.text);
        row.setAttribute("role", "alert");
      } else {
        row = el("div", "rrmm-msg rrmm-bot", entry.text);
        if (entry.replies && entry.replies.length && isLast) {
          var bar = el("div", "rrmm-replies");
          entry.replies.forEach(function (r) {
            var b = button("rrmm-reply", r.title);
            b.addEventListener("click", function () { bar.remove(); say(r.payload, r.title); input.focus(); });
            bar.appendChild(b);
          });
          row.appendChild(bar);
        }
      }
      log.appendChild(row);
      return row;
    }

    function redraw() {
      log.textContent = "";
      if (!state.entries.length) {
        log.appendChild(el("div", "rrmm-msg rrmm-hint",
          "Describe the patient in one message, for example: " + EXAMPLE +
          ". Then ask \"why not KRd?\", \"what did CANDOR show?\", \"summary\" or \"new case\"."));
      }
      state.anchor = null;
      state.rec = null;
      var start = null;
      target.classList.toggle("rrmm-started", state.entries.length > 0);
      state.entries.forEach(function (e, i) {
        var row = renderEntry(e, i === state.entries.length - 1);
        if (e.who === "user") { start = null; state.anchor = null; } else if (!start) { start = row; }
        if (e.html) { state.anchor = start; state.rec = row; }
      });
      scroll();
    }

    function add(entry) {
      log.querySelectorAll(".rrmm-replies").forEach(function (r) { r.remove(); });
      var hint = log.querySelector(".rrmm-hint");
      if (hint) { hint.remove(); }
      state.entries.push(entry);
      if (state.entries.length > MAX_ENTRIES) { state.entries = state.entries.slice(-MAX_ENTRIES); }
      save();
      var row = renderEntry(entry, true);
      target.classList.add("rrmm-started");
      if (entry.who === "user") {
        state.turnStart = null;
        state.anchor = null;
      } else if (!state.turnStart) {
        state.turnStart = row;
      }
      if (entry.html) { state.anchor = state.turnStart; state.rec = row; }
      scroll();
    }

    // the buttons of an answer ("Cautions", "Transplant", ...): said as if typed, shown by their label
    log.addEventListener("click", function (ev) {
      var b = ev.target && ev.target.closest ? ev.target.closest(".rrmm-ask") : null;
      if (b && log.contains(b)) { say(b.getAttribute("data-say"), b.textContent); }
    });

    // ---- the connection (Rasa's socket.io protocol) ----
    var socketOptions = { path: opts.socketPath || "/socket.io", transports: ["websocket", "polling"] };
    if (opts.token) { socketOptions.auth = { token: opts.token }; }
    var socket = io(server, socketOptions);

    function setStatus(s, text) { status.setAttribute("data-state", s); status.textContent = text; }

    socket.on("connect", function () {
      setStatus("connecting", "connecting");
      socket.emit("session_request", { session_id: state.session });
    });
    socket.on("session_confirm", function (id) {
      id = id && id.session_id ? id.session_id : id;
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
    var originAsked = false;
    socket.on("connect_error", function (err) {
      var refused = err && err.message && err.message.indexOf("authentication failed") === 0;
      setStatus("offline", refused ? "not signed in to the assistant" : "cannot reach the assistant");
      if (!refused && !originAsked) { askWhy(); }
    });
    // A page whose origin the server does not allow gets no reason over socket.io (the browser hides a refused
    // cross-origin answer): ask the server, whose /chat/origin answers any page, and say what the administrator sets.
    function askWhy() {
      if (typeof fetch !== "function") { return; }
      originAsked = true;
      fetch(server + "/chat/origin", { credentials: "omit", cache: "no-store" }).then(function (r) {
        return r.ok ? r.json() : null;
      }).then(function (info) {
        if (!info || info.allowed !== false) { return; }
        socket.disconnect(); // no retries: nothing changes until the server's setting does
        setStatus("offline", "not allowed on this page");
        var row = el("div", "rrmm-msg rrmm-bot rrmm-error rrmm-not-allowed",
          "This page (" + location.origin + ") is not allowed to use the assistant. Ask the administrator of " +
          "the assistant's server to add " + location.origin + " to " + (info.setting || "RRMM_WEBCHAT_ORIGINS") +
          " and restart it.");
        row.setAttribute("role", "alert");
        var hint = log.querySelector(".rrmm-hint");
        if (hint) { hint.remove(); }
        log.appendChild(row);
        scroll();
      }).catch(function () { originAsked = false; }); // the server itself is down: ask again on the next failure
    }
    socket.on("bot_uttered", function (msg) {
      if (!msg) { return; }
      if (msg.text && !msg.html && !msg.error && state.skipText !== null && msg.text === state.skipText) {
        state.skipText = null; // the recommendation's plain text, for other widgets: shown here as HTML already
        return;
      }
      state.skipText = null;
      showPending(false);
      if (msg.html) {
        state.skipText = typeof msg.text_twin === "string" ? msg.text_twin : null;
        add({ who: "bot", html: msg.html, note: typeof msg.note === "string" ? msg.note : null });
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
      state.skipText = null;
      save();
      showPending(false);
      redraw();
      socket.emit("session_request", { session_id: null });
      input.focus();
    });

    redraw();
    return { focus: function () { input.focus(); }, socket: socket };
  }

  window.RRMMChat = { mount: mount };

  // The page /chat/ and the four-tag embed: draw into #rrmm-chat (or data-target). embed.js mounts by itself.
  var data = (script && script.dataset) || {};
  if (data.rrmmEmbed === undefined) {
    var target = document.getElementById(data.target || "rrmm-chat");
    if (target) {
      mount(target, {
        server: data.server || (script && script.src ? new URL(script.src, location.href).origin : location.origin),
        socketPath: data.socketPath, token: data.token, heading: "h1"
      });
    }
  }
})();
