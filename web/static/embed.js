/* RRMM assistant: the one-tag widget for any intranet page (docs/channels.md).
 *
 *   <script src="https://rrmm.example/chat/embed.js" data-server="https://rrmm.example" defer></script>
 *
 * Adds a launcher button (bottom right) that opens the chat in a panel. Everything is built inside a Shadow DOM on
 * an element of its own (<rrmm-assistant>), so the page's CSS cannot reach it (rrmm-chat.css resets what would be
 * inherited), and its CSS cannot reach the page. On the first opening it loads, from the assistant's server only,
 * the stylesheet (a <link> inside the shadow root: no inline style, so a strict Content-Security-Policy needs only
 * the server's origin in style-src), the vendored socket.io client and rrmm-chat.js (the chat itself, shared with
 * the page /chat/), then connects. The page's own `io` and AMD `define`, if any, are left as they were.
 *
 * Attributes: data-server (default: where this script came from), data-socket-path (default /socket.io),
 * data-token (a JWT when socket authentication is on, docs/security.md), data-title (the launcher's text, default
 * "Ask RRMM").
 * Keyboard: the launcher is a button (Enter or Space); Escape in the panel closes it; focus moves into the panel on
 * opening and back to the launcher on closing. The panel stays open across the pages of a visit (sessionStorage);
 * the conversation, across visits (localStorage, as the page /chat/).
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.RRMMEmbed) { return; } // one widget per page
  var data = script.dataset;
  var base = new URL(script.src, location.href);
  var server = (data.server || base.origin).replace(/\/+$/, "");
  var assets = server + "/chat/";
  var openKey = "rrmm-chat-open:" + server;
  var label = data.title || "Ask RRMM";
  var SVG = "http://www.w3.org/2000/svg";

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  function icon() { // a speech bubble, drawn with DOM calls (no markup string, no inline style)
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(SVG, "path");
    path.setAttribute("d", "M4 4h16a2 2 0 0 1 2 2v9a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z");
    svg.appendChild(path);
    return svg;
  }

  function loadScript(src, attrs, done) {
    var s = document.createElement("script");
    s.src = src;
    s.async = true;
    Object.keys(attrs).forEach(function (k) { s.setAttribute(k, attrs[k]); });
    s.onload = function () { done(null); };
    s.onerror = function () { done(new Error("could not load " + src)); };
    (document.head || document.documentElement).appendChild(s);
  }

  // ---- the host element and its shadow root ----
  var host = document.createElement("rrmm-assistant");
  var root = host.attachShadow({ mode: "open" });
  var sheet = el("link");
  sheet.rel = "stylesheet";
  sheet.href = assets + "rrmm-chat.css";
  var wrap = el("div", "rrmm-embed");
  wrap.hidden = true; // shown once the stylesheet is there (no flash of unstyled widget)
  sheet.onload = sheet.onerror = function () { wrap.hidden = false; };

  var launcher = el("button", "rrmm-launcher");
  launcher.type = "button";
  launcher.setAttribute("aria-expanded", "false"); // its name is its text; aria-expanded says open or closed
  launcher.setAttribute("aria-controls", "rrmm-panel");
  launcher.title = "Open or close the RRMM assistant";
  launcher.appendChild(icon());
  launcher.appendChild(el("span", "rrmm-launcher-text", label));

  var panel = el("div", "rrmm-panel");
  panel.id = "rrmm-panel";
  panel.hidden = true;
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-modal", "false");
  panel.setAttribute("aria-labelledby", "rrmm-title");
  var chatBox = el("div", "rrmm-panel-chat");
  var failure = el("p", "rrmm-embed-failure");
  failure.setAttribute("role", "alert");
  failure.hidden = true;
  panel.appendChild(failure);
  panel.appendChild(chatBox);
  wrap.appendChild(panel);
  wrap.appendChild(launcher);
  root.appendChild(sheet);
  root.appendChild(wrap);

  var chat = null;
  var loading = false;

  function start(then) {
    if (chat) { return then(); }
    if (loading) { return; }
    loading = true;
    var pageIo = window.io;
    var pageDefine = window.define;
    var amd = typeof pageDefine === "function" && pageDefine.amd;
    if (amd) { window.define = undefined; } // the UMD client would register with the page's AMD loader instead
    loadScript(assets + "vendor/socket.io.min.js", {}, function (err) {
      var ourIo = window.io;
      if (amd) { window.define = pageDefine; }
      window.io = pageIo; // the page keeps its own socket.io (or none)
      if (pageIo === undefined) { try { delete window.io; } catch (e) { window.io = undefined; } }
      if (err || typeof ourIo !== "function") { return fail(); }
      var next = function () {
        chat = window.RRMMChat.mount(chatBox, {
          server: server, io: ourIo, socketPath: data.socketPath, token: data.token, heading: "h2", onClose: close
        });
        loading = false;
        then();
      };
      if (window.RRMMChat) { return next(); }
      loadScript(assets + "rrmm-chat.js", { "data-rrmm-embed": "" }, function (err2) {
        if (err2 || !window.RRMMChat) { return fail(); }
        next();
      });
    });
  }

  function fail() {
    loading = false;
    failure.textContent = "The assistant cannot be reached from this page just now. Please try again later.";
    failure.hidden = false;
  }

  function open() {
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    wrap.classList.add("rrmm-open");
    try { sessionStorage.setItem(openKey, "1"); } catch (e) { /* private mode: the panel just starts closed */ }
    start(function () { chat.focus(); });
  }

  function close() {
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    wrap.classList.remove("rrmm-open");
    try { sessionStorage.removeItem(openKey); } catch (e) { /* nothing to forget */ }
    launcher.focus();
  }

  launcher.addEventListener("click", function () { if (panel.hidden) { open(); } else { close(); } });
  panel.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape") { ev.stopPropagation(); close(); }
  });

  function attach() {
    document.body.appendChild(host);
    var wasOpen = false;
    try { wasOpen = sessionStorage.getItem(openKey) === "1"; } catch (e) { wasOpen = false; }
    if (wasOpen) {
      panel.hidden = false;
      launcher.setAttribute("aria-expanded", "true");
        wrap.classList.add("rrmm-open");
      start(function () {}); // reopened on a new page: no focus grab
    }
  }

  window.RRMMEmbed = { open: open, close: close, host: host };
  if (document.body) { attach(); } else { document.addEventListener("DOMContentLoaded", attach); }
})();
