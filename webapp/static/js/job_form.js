// Job form: show the chosen task's parameters and the chosen trigger's fields, and
// preview the next fire times (computed by the server) as the admin types.
(function () {
  "use strict";
  var form = document.getElementById("job-form");
  if (!form) { return; }
  var csrf = document.querySelector("meta[name=csrf-token]").content;
  var taskSelect = form.querySelector("[data-task-select]");
  var list = document.getElementById("fire-times");
  var problem = document.getElementById("fire-times-error");

  function chosenKind() {
    var checked = form.querySelector("[data-trigger-kind]:checked");
    return checked ? checked.value : "cron";
  }

  // Only the chosen task's parameters and trigger's fields are shown; hidden inputs are
  // disabled so they are not sent (the server ignores them anyway).
  function showOnly(selector, attribute, wanted) {
    form.querySelectorAll(selector).forEach(function (panel) {
      var match = panel.getAttribute(attribute).split(" ").indexOf(wanted) !== -1;
      panel.hidden = !match;
      panel.querySelectorAll("input, select").forEach(function (input) { input.disabled = !match; });
    });
  }

  function refreshPanels() {
    showOnly(".task-params", "data-task", taskSelect.value);
    showOnly(".trigger-panel", "data-kind", chosenKind());
  }

  // Until the admin changes something, a preview that fails says nothing: a blank
  // Add-job form must not open with an error.
  var timer = null, inFlight = null, quiet = true;
  function refreshPreview() {
    if (inFlight) { inFlight.abort(); }
    inFlight = new AbortController();
    fetch(form.getAttribute("data-preview-url"), {
      method: "POST", body: new URLSearchParams(new FormData(form)), signal: inFlight.signal,
      credentials: "same-origin", headers: { "X-CSRFToken": csrf, "Accept": "application/json" }
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (result) {
      list.replaceChildren();
      if (!result.ok || Object.keys(result.body.errors || {}).length) {
        var messages = [];
        Object.keys(result.body.errors || {}).forEach(function (name) {
          messages = messages.concat(result.body.errors[name]);
        });
        problem.textContent = messages.join(" ") || result.body.message;
        problem.hidden = quiet;
        return;
      }
      problem.hidden = true;
      result.body.times.forEach(function (when) {
        var item = document.createElement("li");
        var time = document.createElement("time");
        time.dateTime = when.iso;
        time.textContent = when.zone;
        var relative = document.createElement("span");
        relative.className = "text-body-secondary";
        relative.textContent = " (" + when.relative + ")";
        item.append(time, relative);
        list.append(item);
      });
    }).catch(function (error) {
      if (error.name !== "AbortError") { problem.textContent = String(error); problem.hidden = false; }
    });
  }

  function schedulePreview() {
    quiet = false;
    clearTimeout(timer);
    timer = setTimeout(refreshPreview, 300);
  }

  form.addEventListener("input", schedulePreview);
  form.addEventListener("change", function (event) {
    if (event.target === taskSelect || event.target.hasAttribute("data-trigger-kind")) { refreshPanels(); }
    schedulePreview();
  });
  refreshPanels();
  refreshPreview();
}());
