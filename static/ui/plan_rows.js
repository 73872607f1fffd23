// A rollout plan's phase and gate rows (templates/releases/_plan_rows.html). Without JavaScript
// the form shows the plan's rows and a few blank ones (blank rows are ignored); with it, blank
// rows hide behind "Add phase" / "Add gate" and each row gets "Remove".
(function () {
  "use strict";

  function setup(box) {
    if (box.dataset.ready || box.dataset.fixed) return; // a started plan's gates: no rows come or go
    box.dataset.ready = "1";
    var list = box.querySelector(".plan-row-list");
    var add = box.querySelector(".plan-row-add");
    var kind = box.dataset.kind; // "phase" or "gate"
    var max = parseInt(box.dataset.max, 10) || 20;

    function rows() { return Array.prototype.slice.call(list.querySelectorAll("[data-plan-row]")); }
    function key(row) { return row.querySelector(kind === "phase" ? ".plan-audience" : ".plan-metric"); }
    function blank(row) { return !key(row).value.trim() && !row.classList.contains("has-error"); }
    function clear(row) {
      row.querySelectorAll("input, select").forEach(function (el) {
        if (el.type === "checkbox") el.checked = false; else el.value = "";
      });
      row.classList.remove("has-error");
      row.querySelectorAll(".plan-row-error").forEach(function (e) { e.remove(); });
    }
    function renumber(row, index) {
      row.querySelectorAll("[name]").forEach(function (el) {
        el.name = el.name.replace(/^(phase|gate)-\d+-/, kind + "-" + index + "-");
      });
      var label = row.querySelector("label");
      label.firstChild.textContent = label.firstChild.textContent.replace(/\d+/, index + 1);
      row.querySelector(".plan-row-remove").setAttribute("aria-label", "Remove " + kind + " " + (index + 1));
    }
    function shown() { return rows().filter(function (r) { return !r.hidden; }); }
    function refresh() {
      rows().forEach(renumber); // shown rows first: names follow the order people see
      add.hidden = shown().length >= max;
    }
    function wire(row) {
      if (kind === "phase") {
        // A template's phase name describes its audience: once the audience changes, the
        // untouched name goes (a blank name is the audience itself).
        var audience = row.querySelector(".plan-audience"), name = row.querySelector(".plan-name");
        audience.addEventListener("input", function () {
          if (name.value === name.defaultValue && audience.value !== audience.defaultValue) name.value = "";
        });
      }
      var remove = row.querySelector(".plan-row-remove");
      remove.hidden = false;
      remove.addEventListener("click", function () {
        clear(row);
        row.hidden = true;
        list.appendChild(row); // hidden rows wait at the end
        refresh();
        add.focus();
      });
    }

    rows().forEach(function (row) {
      wire(row);
      if (blank(row)) row.hidden = true;
    });
    add.addEventListener("click", function () {
      var row = rows().filter(function (r) { return r.hidden; })[0];
      if (!row) {
        var all = rows();
        if (all.length >= max) return;
        row = all[all.length - 1].cloneNode(true);
        clear(row);
        list.appendChild(row);
        wire(row);
      }
      list.insertBefore(row, rows().filter(function (r) { return r.hidden && r !== row; })[0] || null);
      row.hidden = false;
      refresh();
      key(row).focus();
    });
    add.hidden = false;
    refresh();
  }

  function init() { document.querySelectorAll(".plan-rows").forEach(setup); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
  document.addEventListener("htmx:afterSettle", init);
})();
