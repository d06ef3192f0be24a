// Profile page: copy a just-created API token with one click, or select it on focus.
(function () {
  "use strict";

  document.querySelectorAll("input[data-select-on-focus]").forEach(function (input) {
    input.addEventListener("focus", function () { input.select(); });
  });

  document.querySelectorAll("[data-copy-target]").forEach(function (button) {
    button.addEventListener("click", function () {
      var input = document.getElementById(button.getAttribute("data-copy-target"));
      if (!input) { return; }
      var done = function () { button.textContent = button.getAttribute("data-copied-label"); };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(done, function () { input.select(); });
      } else {
        input.select(); // plain http: the user presses Ctrl+C on the selected text
      }
    });
  });
})();
