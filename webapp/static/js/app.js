// Behaviour shared by every page: list selection, bulk actions, tag badge colours.
// Filters apply only when their form is submitted (the Filter button or Enter): a menu
// that submitted on change would reload the page on every arrow key (WCAG 3.2.2).
(function () {
  "use strict";

  // "Select all" checkbox in a list header toggles the row checkboxes of its form.
  document.querySelectorAll("[data-select-all]").forEach(function (master) {
    var form = document.getElementById(master.getAttribute("data-select-all"));
    if (!form) { return; }
    var boxes = function () { return form.querySelectorAll("input[name=ids]"); };
    // "Select all N matching": once every row of the page is ticked, the form may act on
    // every row the filters match, on every page (the server reads them from "back").
    var offer = form.querySelector("[data-all-matching]");
    var every = function (on) {
      if (!offer) { return; }
      offer.querySelector("[data-all-matching-input]").value = on ? "1" : "";
      offer.querySelector("[data-all-matching-page]").hidden = on;
      offer.querySelector("[data-all-matching-select]").hidden = on;
      offer.querySelector("[data-all-matching-every]").hidden = !on;
      offer.querySelector("[data-all-matching-clear]").hidden = !on;
    };
    var sync = function () {
      var all = boxes(), checked = 0;
      all.forEach(function (box) { if (box.checked) { checked += 1; } });
      master.disabled = all.length === 0;  // e.g. only your own row, which is never selectable
      master.checked = all.length > 0 && checked === all.length;
      master.indeterminate = checked > 0 && checked < all.length;
      if (offer) {
        offer.hidden = !master.checked;
        if (!master.checked) { every(false); }
      }
      var matching = offer && offer.querySelector("[data-all-matching-input]").value === "1";
      form.querySelectorAll("[data-needs-selection]").forEach(function (el) { el.disabled = checked === 0; });
      var counter = form.querySelector("[data-selection-count]");
      if (counter) {
        // Every matching row: the count as the page gives it ("10,000+" past the count's cap).
        counter.textContent = matching ? offer.querySelector("[data-all-matching-select]").getAttribute("data-total")
          : String(checked);
      }
    };
    if (offer) {
      offer.querySelector("[data-all-matching-select]").addEventListener("click", function () { every(true); sync(); });
      offer.querySelector("[data-all-matching-clear]").addEventListener("click", function () { every(false); sync(); });
    }
    master.addEventListener("change", function () {
      boxes().forEach(function (box) { box.checked = master.checked; });
      sync();
    });
    form.addEventListener("change", function (event) {
      if (event.target.name === "ids") { sync(); }
    });
    sync();
  });
})();

// Tag badges take their colour from data-colour (no inline styles: strict CSP), with
// black or white text, whichever contrasts more with it by WCAG relative luminance:
// that is at least 4.58:1 for any colour. (A border in app.css keeps a badge whose
// colour is the page's own, such as a black tag in the dark theme, visible.)
(function () {
  "use strict";
  function channel(hex) {
    var value = parseInt(hex, 16) / 255;
    return value <= 0.04045 ? value / 12.92 : Math.pow((value + 0.055) / 1.055, 2.4);
  }
  document.querySelectorAll("[data-colour]").forEach(function (badge) {
    var hex = badge.getAttribute("data-colour");
    if (!/^#[0-9a-fA-F]{6}$/.test(hex)) { return; }
    var luminance = 0.2126 * channel(hex.slice(1, 3)) + 0.7152 * channel(hex.slice(3, 5)) +
      0.0722 * channel(hex.slice(5, 7));
    var onBlack = (luminance + 0.05) / 0.05, onWhite = 1.05 / (luminance + 0.05);
    badge.style.backgroundColor = hex;
    badge.style.color = onBlack >= onWhite ? "#000" : "#fff";
  });
})();
