// flagsite UI: small progressive enhancements. Everything works without this file.
(function () {
  "use strict";

  // Live JSON syntax check for textareas marked data-json-check (the server validates again).
  function checkJson(area) {
    var status = area.parentElement.querySelector(".json-status");
    if (!status) return;
    var text = area.value.trim();
    if (!text) { status.textContent = ""; status.className = "json-status"; return; }
    try {
      JSON.parse(text);
      status.textContent = "✓ Valid JSON";
      status.className = "json-status good";
      area.removeAttribute("aria-invalid");
    } catch (err) {
      status.textContent = "Not valid JSON: " + err.message;
      status.className = "json-status bad";
      area.setAttribute("aria-invalid", "true");
    }
  }

  // Split weights: show the running total next to the inputs.
  function updateTotal(serve) {
    var out = serve.querySelector("[data-split-total]");
    if (!out) return;
    var total = 0;
    serve.querySelectorAll("[data-weight]").forEach(function (input) {
      var v = parseFloat(input.value);
      if (!isNaN(v)) total += v;
    });
    total = Math.round(total * 1000) / 1000;
    var ok = Math.abs(total - 100) < 1e-9;
    out.textContent = "Total " + total + "%" + (ok ? "" : " — must be 100%");
    out.classList.toggle("ok", ok);
  }

  // Switching a serve to "split" with no weights yet: start with an even split.
  function prefillSplit(serve) {
    var inputs = serve.querySelectorAll("[data-weight]");
    if (!inputs.length) return;
    var empty = Array.prototype.every.call(inputs, function (i) { return !i.value; });
    if (!empty) return;
    var share = Math.floor(100000 / inputs.length) / 1000;
    inputs.forEach(function (input, i) {
      input.value = i === inputs.length - 1
        ? String(Math.round((100 - share * (inputs.length - 1)) * 1000) / 1000)
        : String(share);
    });
    updateTotal(serve);
  }

  document.addEventListener("input", function (event) {
    var t = event.target;
    if (t.matches && t.matches("[data-json-check]")) checkJson(t);
    if (t.matches && t.matches("[data-weight]")) updateTotal(t.closest("[data-serve]"));
  });

  document.addEventListener("change", function (event) {
    var t = event.target;
    if (t.matches && t.matches("[data-serve] input[type=radio][value=split]") && t.checked) {
      prefillSplit(t.closest("[data-serve]"));
    }
  });

  // Copy buttons (the API key shown once).
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy]");
    if (!button) return;
    var field = document.querySelector(button.getAttribute("data-copy"));
    if (!field) return;
    field.select();
    var done = function () { button.textContent = "Copied"; };
    if (navigator.clipboard) navigator.clipboard.writeText(field.value).then(done, done);
    else { document.execCommand("copy"); done(); }
  });

  // After a structural edit (add a rule, remove a condition) put the focus where work goes on.
  function focusHint(root) {
    var holder = root.querySelector ? root.querySelector("[data-focus]:not([data-focus=''])") : null;
    if (!holder && root.matches && root.matches("[data-focus]:not([data-focus=''])")) holder = root;
    if (!holder) return;
    var el = document.getElementById(holder.getAttribute("data-focus"));
    if (el && !el.disabled) el.focus();
  }

  // Toasts fade away on their own.
  function ageToasts(root) {
    (root.querySelectorAll ? root.querySelectorAll(".toast") : []).forEach(function (toast) {
      setTimeout(function () { toast.remove(); }, 5000);
    });
  }

  function init(root) {
    root.querySelectorAll("[data-json-check]").forEach(checkJson);
    focusHint(root);
    ageToasts(root);
  }

  // htmx swaps nothing on an error response by default. A target marked data-swap-errors
  // shows the fragment its view returns with a 4xx (e.g. the create form's power calculator
  // naming the bad field); a 5xx or an unreachable server puts a plain message there.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var d = event.detail;
    if (d.xhr.status >= 400 && d.xhr.status < 500 && d.target && d.target.hasAttribute("data-swap-errors")) {
      d.shouldSwap = true;
      d.isError = false;
    }
  });
  function showFailure(event, text) {
    var target = event.detail.target;
    if (!target || !target.hasAttribute || !target.hasAttribute("data-swap-errors")) return;
    var p = document.createElement("p");
    p.className = "error";
    p.setAttribute("role", "alert");
    p.textContent = text;
    target.replaceChildren(p);
  }
  document.addEventListener("htmx:responseError", function (event) {
    showFailure(event, "The request failed (HTTP " + event.detail.xhr.status + "); try again.");
  });
  document.addEventListener("htmx:sendError", function (event) {
    showFailure(event, "The server could not be reached; try again.");
  });

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:afterSettle", function (event) { init(event.detail.elt || document); });
  // Close an open confirm panel with Escape.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.confirm[open]").forEach(function (d) {
      d.removeAttribute("open");
      var s = d.querySelector("summary");
      if (s) s.focus();
    });
  });
})();

// The new-flag form's "when on / when off" selects name variants by position: keep their labels
// in step with the variant keys as they are typed (the server reads the position).
document.addEventListener("input", function (event) {
  var t = event.target;
  var match = t.id && /^v(\d+)-key$/.exec(t.id);
  if (!match || !t.form) return;
  t.form.querySelectorAll("select[data-variant-choice]").forEach(function (select) {
    var option = select.querySelector('option[value="' + match[1] + '"]');
    if (option) option.textContent = t.value.trim() || "(variant without a key)";
  });
});
