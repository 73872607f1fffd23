// The guardrail editor (templates/experiments/_guardrails.html). Without JavaScript the form
// shows a fixed number of rows and blank ones are ignored; with it, blank rows hide behind
// "Add guardrail", each row gets "Remove", and the sign and unit follow the metric.
(function () {
  "use strict";

  function setup(box) {
    if (box.dataset.ready) return;
    box.dataset.ready = "1";
    var list = box.querySelector(".guardrail-rows");
    var add = box.querySelector("#guardrail-add");
    var max = parseInt(box.dataset.max, 10) || 10;

    function rows() { return Array.prototype.slice.call(list.querySelectorAll("[data-guardrail-row]")); }
    function blank(row) {
      return !row.querySelector(".guardrail-metric").value &&
        !row.querySelector(".guardrail-threshold").value.trim() &&
        !row.classList.contains("has-error");
    }
    function label(row) {
      var select = row.querySelector(".guardrail-metric");
      var option = select.options[select.selectedIndex];
      row.querySelector(".guardrail-sign").textContent = (option && option.dataset.sign) || "";
      row.querySelector(".guardrail-unit").textContent = (option && option.dataset.unit) || "";
    }
    function refresh() {
      var visible = rows().filter(function (r) { return !r.hidden; }).length;
      add.hidden = visible >= max;
    }
    function renumber(row, index) {
      row.querySelectorAll("[name], [id], [for], [aria-describedby]").forEach(function (el) {
        ["name", "id", "for", "aria-describedby"].forEach(function (attr) {
          var value = el.getAttribute(attr);
          if (value) el.setAttribute(attr, value.replace(/guardrail-\d+-/, "guardrail-" + index + "-"));
        });
      });
      row.querySelectorAll("label").forEach(function (l) {
        l.textContent = l.textContent.replace(/Guardrail \d+/, "Guardrail " + (index + 1));
      });
      row.querySelector(".guardrail-remove").setAttribute("aria-label", "Remove guardrail " + (index + 1));
    }
    function wire(row) {
      var remove = row.querySelector(".guardrail-remove");
      remove.hidden = false;
      remove.addEventListener("click", function () {
        row.querySelector(".guardrail-metric").value = "";
        row.querySelector(".guardrail-threshold").value = "";
        row.classList.remove("has-error");
        row.querySelectorAll(".guardrail-error").forEach(function (e) { e.remove(); });
        label(row);
        row.hidden = true;
        refresh();
        add.focus();
      });
      row.querySelector(".guardrail-metric").addEventListener("change", function () { label(row); });
    }

    rows().forEach(function (row) {
      wire(row);
      if (blank(row)) row.hidden = true;
    });
    add.addEventListener("click", function () {
      var hidden = rows().filter(function (r) { return r.hidden; });
      var row = hidden[0];
      if (!row) {
        var all = rows();
        if (all.length >= max) return;
        row = all[all.length - 1].cloneNode(true);
        row.classList.remove("has-error");
        row.querySelectorAll(".guardrail-error").forEach(function (e) { e.remove(); });
        row.querySelector(".guardrail-metric").value = "";
        row.querySelector(".guardrail-threshold").value = "";
        renumber(row, all.length);
        list.appendChild(row);
        wire(row);
        label(row);
      }
      list.appendChild(row); // shown rows stay in the order people add them
      row.hidden = false;
      refresh();
      row.querySelector(".guardrail-metric").focus();
    });
    // Rows are stored in index order: number them as they stand before the form is sent.
    var form = box.closest("form");
    if (form) {
      form.addEventListener("submit", function () { rows().forEach(renumber); });
    }
    add.hidden = false;
    refresh();
  }

  function init() { document.querySelectorAll("#guardrails").forEach(setup); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
