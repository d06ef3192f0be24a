// Light / dark / auto colour theme, remembered in localStorage.
// Loaded in <head> (not deferred) so the theme applies before the first paint.
(function () {
  "use strict";
  var KEY = "webapp.theme";
  var media = window.matchMedia("(prefers-color-scheme: dark)");

  function stored() {
    try { return localStorage.getItem(KEY) || "auto"; } catch (e) { return "auto"; }
  }

  function apply(choice) {
    var effective = choice === "auto" ? (media.matches ? "dark" : "light") : choice;
    document.documentElement.setAttribute("data-bs-theme", effective);
    document.documentElement.setAttribute("data-theme-choice", choice);
  }

  function markActive(choice) {
    document.querySelectorAll("[data-theme-value]").forEach(function (button) {
      var active = button.getAttribute("data-theme-value") === choice;
      button.classList.toggle("active", active);
      button.setAttribute("aria-pressed", active ? "true" : "false");
    });
  }

  apply(stored());
  media.addEventListener("change", function () { apply(stored()); });

  document.addEventListener("DOMContentLoaded", function () {
    markActive(stored());
    document.querySelectorAll("[data-theme-value]").forEach(function (button) {
      button.addEventListener("click", function () {
        var choice = button.getAttribute("data-theme-value");
        try { localStorage.setItem(KEY, choice); } catch (e) { /* private mode: not remembered */ }
        apply(choice);
        markActive(choice);
      });
    });
  });
})();
