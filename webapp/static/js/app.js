// Behaviour shared by every page: list selection, bulk actions, auto-submitting filters.
(function () {
  "use strict";

  // "Select all" checkbox in a list header toggles the row checkboxes of its form.
  document.querySelectorAll("[data-select-all]").forEach(function (master) {
    var form = document.getElementById(master.getAttribute("data-select-all"));
    if (!form) { return; }
    var boxes = function () { return form.querySelectorAll("input[name=ids]"); };
    var sync = function () {
      var all = boxes(), checked = 0;
      all.forEach(function (box) { if (box.checked) { checked += 1; } });
      master.disabled = all.length === 0;  // e.g. only your own row, which is never selectable
      master.checked = all.length > 0 && checked === all.length;
      master.indeterminate = checked > 0 && checked < all.length;
      form.querySelectorAll("[data-needs-selection]").forEach(function (el) { el.disabled = checked === 0; });
      var counter = form.querySelector("[data-selection-count]");
      if (counter) { counter.textContent = String(checked); }
    };
    master.addEventListener("change", function () {
      boxes().forEach(function (box) { box.checked = master.checked; });
      sync();
    });
    form.addEventListener("change", function (event) {
      if (event.target.name === "ids") { sync(); }
    });
    sync();
  });

  // Selects marked data-autosubmit submit their (GET) form when changed.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.requestSubmit(); });
  });
})();

// Tag badges take their colour from data-colour (no inline styles: strict CSP),
// with dark or light text by the colour's brightness.
(function () {
  "use strict";
  document.querySelectorAll("[data-colour]").forEach(function (badge) {
    var hex = badge.getAttribute("data-colour");
    if (!/^#[0-9a-fA-F]{6}$/.test(hex)) { return; }
    var r = parseInt(hex.slice(1, 3), 16), g = parseInt(hex.slice(3, 5), 16), b = parseInt(hex.slice(5, 7), 16);
    badge.style.backgroundColor = hex;
    badge.style.color = (r * 299 + g * 587 + b * 114) / 1000 > 150 ? "#212529" : "#fff";
  });
})();
