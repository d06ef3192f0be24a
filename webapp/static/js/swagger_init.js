// Swagger UI for /api/v1/docs: the spec URL comes from a data- attribute (no inline script).
(function () {
  "use strict";

  var root = document.getElementById("swagger-ui");
  if (!root || typeof window.SwaggerUIBundle !== "function") { return; }
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrfToken = csrfMeta ? csrfMeta.getAttribute("content") : "";
  var safeMethods = ["GET", "HEAD", "OPTIONS"];

  // Swagger UI's own dark styles (html.dark-mode) follow the console's theme (theme.js).
  var html = document.documentElement;
  var followTheme = function () {
    html.classList.toggle("dark-mode", html.getAttribute("data-bs-theme") === "dark");
  };
  followTheme();
  new MutationObserver(followTheme).observe(html, {attributes: true, attributeFilter: ["data-bs-theme"]});

  window.SwaggerUIBundle({
    url: root.getAttribute("data-spec-url"),
    domNode: root,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // Deep links put a link inside each operation's toggle button: a control inside a
    // control, which screen readers and keyboards cannot use (axe: nested-interactive).
    deepLinking: false,
    validatorUrl: null, // the public validator is online; the console works offline
    // "Try it out" runs with the browser session, whose state changes need the CSRF header.
    // A request that carries a bearer token does not need it.
    requestInterceptor: function (request) {
      var method = (request.method || "GET").toUpperCase();
      if (safeMethods.indexOf(method) === -1 && csrfToken) {
        request.headers["X-CSRFToken"] = csrfToken;
      }
      return request;
    }
  });
})();
