/*! flagsite feedback widget — thumbs up / down with an optional category and comment.
 *
 * <script src="https://FLAGSITE/feedback/widget.js" data-key="fs_cli_..."
 *         data-conversation="conv-9" data-request="req-1" data-user="u-42"></script>
 *
 * Optional attributes: data-target="CSS selector" (where to render; default: right after the
 * script tag), data-endpoint (default: the script's origin + /api/v1/feedback), data-no-style
 * (skip the default styles). From code: FlagsiteFeedback.mount(element, {key, conversation,
 * request, user, endpoint, stylesheet}).
 *
 * Content-Security-Policy of the host page: the widget needs script-src and style-src for the
 * flagsite origin (it loads widget.css from next to widget.js, no inline style) and
 * connect-src for the feedback endpoint. See docs/security.md.
 *
 * Styling: plain class names (.fs-feedback, .fs-feedback__button, .fs-feedback__form, ...) and
 * CSS custom properties read with fallbacks (--fs-feedback-accent, --fs-feedback-border,
 * --fs-feedback-radius, --fs-feedback-muted, --fs-feedback-bg, --fs-feedback-font), so a host
 * page can set them on :root or any ancestor. The default rules use :where() (no specificity).
 *
 * Delivery: every vote gets a stable id (kept in localStorage per conversation, request and
 * vote), goes into a localStorage queue and is sent from there; offline or failed sends are
 * retried with backoff and on the `online` event. The server stores an id once, so a retry
 * never double counts.
 */
(function () {
  "use strict";

  var QUEUE_KEY = "flagsite-feedback:queue";
  var VOTE_PREFIX = "flagsite-feedback:vote:";
  var MAX_DELAY_MS = 60000;
  var CATEGORIES = [
    ["hallucination", "Made something up"],
    ["irrelevant", "Not relevant"],
    ["formatting", "Badly formatted"],
    ["safety", "Unsafe or offensive"],
    ["other", "Something else"]
  ];
  var ICON_UP =
    '<svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false">' +
    '<path fill="currentColor" d="M2 21h4V9H2v12zm20-11a2 2 0 0 0-2-2h-6.3l1-4.6v-.3c0-.4-.2-.8-.4-1.1L13.2 1 6.6 7.6C6.2 8 6 8.5 6 9v10a2 2 0 0 0 2 2h9c.8 0 1.5-.5 1.8-1.2l3-7.1c.1-.2.2-.5.2-.7v-2z"/></svg>';
  var ICON_DOWN =
    '<svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false">' +
    '<path fill="currentColor" d="M22 3h-4v12h4V3zM2 14a2 2 0 0 0 2 2h6.3l-1 4.6v.3c0 .4.2.8.4 1.1l1.1 1 6.6-6.6c.4-.4.6-.9.6-1.4V5a2 2 0 0 0-2-2H7c-.8 0-1.5.5-1.8 1.2l-3 7.1c-.1.2-.2.5-.2.7v2z"/></svg>';
  // Where the default styles come from: widget.css next to this script (a stylesheet, not an
  // inline <style>, so that host pages with a strict Content-Security-Policy need no
  // 'unsafe-inline'). Read now: document.currentScript is only set while the script first runs.
  var SELF = document.currentScript;
  var STYLESHEET = SELF && SELF.src ? SELF.src.replace(/widget\.js([?#].*)?$/, "widget.css") : "";

  if (window.FlagsiteFeedback) {
    window.FlagsiteFeedback.mountScript(document.currentScript);
    return;
  }

  // ---- storage (localStorage when allowed, memory otherwise) -------------------------------
  var memory = {};
  function read(key, fallback) {
    try {
      var raw = window.localStorage.getItem(key);
      return raw ? JSON.parse(raw) : fallback;
    } catch (e) {
      return key in memory ? memory[key] : fallback;
    }
  }
  function write(key, value) {
    try {
      window.localStorage.setItem(key, JSON.stringify(value));
    } catch (e) {
      memory[key] = value;
    }
  }

  function newId() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return (b + 256).toString(16).slice(1);
    }).join("");
  }

  // ---- the outbox: a queue in localStorage, sent in order, retried with backoff ------------
  var listeners = {};
  var flushing = false;
  var timer = null;
  var attempt = 0;

  function enqueue(item, onDone) {
    var queue = read(QUEUE_KEY, []);
    var known = queue.some(function (q) { return q.body.id === item.body.id; });
    if (!known) queue.push(item);
    write(QUEUE_KEY, queue);
    if (onDone) listeners[item.body.id] = onDone;
    flush();
  }

  function settle(id, outcome) {
    write(QUEUE_KEY, read(QUEUE_KEY, []).filter(function (q) { return q.body.id !== id; }));
    var cb = listeners[id];
    delete listeners[id];
    if (cb) cb(outcome);
  }

  function schedule(delayMs) {
    if (timer) clearTimeout(timer);
    timer = setTimeout(function () { timer = null; flush(); }, delayMs);
  }

  function backoff(retryAfterSeconds) {
    attempt += 1;
    var delay = Math.min(MAX_DELAY_MS, 1000 * Math.pow(2, attempt - 1));
    if (retryAfterSeconds) delay = Math.max(delay, retryAfterSeconds * 1000);
    schedule(delay + Math.floor(Math.random() * 250));
  }

  function flush() {
    if (flushing) return;
    var queue = read(QUEUE_KEY, []);
    if (!queue.length) return;
    if (navigator.onLine === false) {
      notifyQueued(queue);
      return; // the `online` event flushes
    }
    flushing = true;
    var item = queue[0];
    fetch(item.endpoint, {
      method: "POST",
      mode: "cors",
      credentials: "omit",
      keepalive: true,
      headers: { "Content-Type": "application/json", Authorization: "Bearer " + item.key },
      body: JSON.stringify(item.body)
    }).then(function (response) {
      flushing = false;
      var s = response.status;
      if (s === 429 || s === 408 || s >= 500) {
        notifyQueued([item]);
        backoff(parseInt(response.headers.get("Retry-After") || "0", 10));
        return;
      }
      attempt = 0;
      if (s >= 200 && s < 300) {
        settle(item.body.id, "sent");
      } else {
        // A request the server will never accept (bad key, invalid field): drop it.
        if (window.console) console.warn("flagsite feedback rejected", s, item.body.id);
        settle(item.body.id, "rejected");
      }
      flush();
    }, function () {
      flushing = false;
      notifyQueued([item]);
      backoff(0);
    });
  }

  function notifyQueued(items) {
    items.forEach(function (q) {
      var cb = listeners[q.body.id];
      if (cb) cb("queued");
    });
  }

  window.addEventListener("online", function () { attempt = 0; flush(); });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") flush();
  });

  // ---- the widget ----------------------------------------------------------------------------
  var counter = 0;

  function injectStyles(href) {
    if (!href || document.getElementById("fs-feedback-styles")) return;
    var link = document.createElement("link");
    link.id = "fs-feedback-styles";
    link.rel = "stylesheet";
    link.href = href;
    (document.head || document.documentElement).appendChild(link);
  }

  function el(tag, attrs, html) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (html) node.innerHTML = html;
    return node;
  }

  function mount(target, options) {
    if (!target || !options || !options.key) throw new Error("FlagsiteFeedback.mount(element, {key, ...})");
    if (!options.noStyle) injectStyles(options.stylesheet || STYLESHEET);
    var n = ++counter;
    var endpoint = options.endpoint || "/api/v1/feedback";
    var voteKey = VOTE_PREFIX + (options.conversation || "") + "|" + (options.request || "");
    var vote = read(voteKey, { type: "", ids: {} });

    var root = el("div", { class: "fs-feedback", role: "group", "aria-labelledby": "fs-feedback-prompt-" + n });
    var prompt = el("span", { class: "fs-feedback__prompt", id: "fs-feedback-prompt-" + n });
    prompt.textContent = options.prompt || "Was this answer helpful?";
    var up = el("button", { type: "button", class: "fs-feedback__button fs-feedback__up", "aria-pressed": "false" },
      ICON_UP + '<span class="fs-feedback__sr">Helpful</span>');
    var down = el("button", { type: "button", class: "fs-feedback__button fs-feedback__down", "aria-pressed": "false",
      "aria-expanded": "false", "aria-controls": "fs-feedback-form-" + n },
      ICON_DOWN + '<span class="fs-feedback__sr">Not helpful</span>');
    up.title = "Helpful";
    down.title = "Not helpful";

    var form = el("form", { class: "fs-feedback__form", id: "fs-feedback-form-" + n, hidden: "" });
    var fieldset = el("fieldset");
    var legend = el("legend");
    legend.textContent = "What went wrong? (optional)";
    fieldset.appendChild(legend);
    CATEGORIES.forEach(function (c) {
      var label = el("label", { class: "fs-feedback__category" });
      var input = el("input", { type: "radio", name: "fs-feedback-category-" + n, value: c[0] });
      label.appendChild(input);
      label.appendChild(document.createTextNode(" " + c[1]));
      fieldset.appendChild(label);
    });
    var commentLabel = el("label", { for: "fs-feedback-comment-" + n, class: "fs-feedback__comment-label" });
    commentLabel.textContent = "Comment (optional)";
    var comment = el("textarea", { id: "fs-feedback-comment-" + n, class: "fs-feedback__comment", maxlength: "5000", rows: "3" });
    var actions = el("div", { class: "fs-feedback__actions" });
    var submit = el("button", { type: "submit", class: "fs-feedback__button fs-feedback__submit" });
    submit.textContent = "Send feedback";
    var cancel = el("button", { type: "button", class: "fs-feedback__button fs-feedback__cancel" });
    cancel.textContent = "Cancel";
    actions.appendChild(submit);
    actions.appendChild(cancel);
    form.appendChild(fieldset);
    form.appendChild(commentLabel);
    form.appendChild(comment);
    form.appendChild(actions);

    var status = el("p", { class: "fs-feedback__status", role: "status", "aria-live": "polite" });
    [prompt, up, down, form, status].forEach(function (node) { root.appendChild(node); });
    target.appendChild(root);

    function show(type) {
      up.setAttribute("aria-pressed", String(type === "thumbs_up"));
      down.setAttribute("aria-pressed", String(type === "thumbs_down"));
    }
    function say(text) { status.textContent = text; }
    function closeForm() {
      form.hidden = true;
      down.setAttribute("aria-expanded", "false");
    }
    function report(outcome) {
      if (outcome === "sent") say("Thanks for your feedback!");
      else if (outcome === "queued") say("You seem to be offline; your feedback will be sent when you're back.");
      else if (outcome === "rejected") say("Sorry, your feedback could not be sent.");
    }
    function send(type, extra) {
      vote.ids[type] = vote.ids[type] || newId(); // the same vote keeps its id across retries
      vote.type = type;
      write(voteKey, vote);
      show(type);
      var body = { id: vote.ids[type], type: type };
      if (options.conversation) body.conversation_id = options.conversation;
      if (options.request) body.request_id = options.request;
      if (options.user) body.user_key = options.user;
      Object.keys(extra || {}).forEach(function (k) { if (extra[k]) body[k] = extra[k]; });
      // No timestamp: browser clocks drift, so the server's time of receipt is the better one.
      say("Sending…");
      enqueue({ endpoint: endpoint, key: options.key, body: body }, report);
    }

    up.addEventListener("click", function () {
      closeForm();
      if (vote.type === "thumbs_up") { say("Thanks, we already have your vote."); return; }
      send("thumbs_up");
    });
    down.addEventListener("click", function () {
      if (vote.type === "thumbs_down") { say("Thanks, we already have your vote."); return; }
      var opening = form.hidden;
      form.hidden = !opening;
      down.setAttribute("aria-expanded", String(opening));
      if (opening) form.querySelector("input").focus();
    });
    cancel.addEventListener("click", function () { closeForm(); down.focus(); });
    form.addEventListener("keydown", function (e) {
      if (e.key === "Escape") { closeForm(); down.focus(); }
    });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var picked = form.querySelector("input:checked");
      closeForm();
      send("thumbs_down", { category: picked ? picked.value : "", comment: comment.value.trim() });
      down.focus();
    });

    show(vote.type);
    return root;
  }

  function mountScript(script) {
    if (!script || !script.dataset || !script.dataset.key) return null;
    var d = script.dataset;
    var endpoint = d.endpoint;
    if (!endpoint && script.src) endpoint = new URL(script.src, document.baseURI).origin + "/api/v1/feedback";
    var target;
    if (d.target) {
      target = document.querySelector(d.target);
    } else {
      target = document.createElement("div");
      script.parentNode.insertBefore(target, script.nextSibling);
    }
    return mount(target, {
      key: d.key, conversation: d.conversation, request: d.request, user: d.user,
      endpoint: endpoint, noStyle: "noStyle" in d
    });
  }

  window.FlagsiteFeedback = { mount: mount, mountScript: mountScript, flush: flush };
  mountScript(document.currentScript);
  flush(); // anything left from an earlier visit
})();
