// Blog form: live Markdown preview (rendered and sanitised by the server) and the tag picker.
(function () {
  "use strict";
  var form = document.getElementById("blog-form");
  if (!form) { return; }
  var csrf = document.querySelector("meta[name=csrf-token]").content;

  // -- preview ------------------------------------------------------------------
  var source = form.querySelector("[data-preview-source]");
  var pane = document.getElementById("preview");
  var timer = null, inFlight = null;

  function refreshPreview() {
    if (inFlight) { inFlight.abort(); }
    inFlight = new AbortController();
    var body = new URLSearchParams({ body: source.value });
    fetch(form.getAttribute("data-preview-url"), {
      method: "POST", body: body, signal: inFlight.signal, credentials: "same-origin",
      headers: { "X-CSRFToken": csrf }
    }).then(function (response) {
      if (!response.ok) { throw new Error(response.status); }
      return response.text();
    }).then(function (html) {
      pane.innerHTML = html;  // sanitised on the server (nh3)
      pane.classList.remove("preview-failed");
    }).catch(function (error) {
      if (error.name !== "AbortError") { pane.classList.add("preview-failed"); }
    });
  }
  if (source && pane) {
    source.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(refreshPreview, 250);
    });
    if (source.value) { refreshPreview(); }
  }

  // -- tag picker -----------------------------------------------------------------
  // The real field stays a comma-separated text input (it works without JavaScript);
  // the picker hides it and shows chips plus an input that suggests existing tags
  // (a <datalist>: type to filter) and adds a new one on Enter or comma.
  var field = form.querySelector("[data-tag-picker]");
  if (!field) { return; }
  var labels = Array.prototype.slice.call(field.labels || []);  // read before the type changes
  var names = field.value.split(",").map(function (s) { return s.trim(); }).filter(Boolean);
  var wrapper = document.createElement("div");
  wrapper.className = "form-control d-flex flex-wrap gap-1 align-items-center tag-picker";
  if (field.classList.contains("is-invalid")) { wrapper.classList.add("is-invalid"); }
  var input = document.createElement("input");
  input.type = "text";
  input.className = "border-0 flex-grow-1 tag-picker-input";
  input.setAttribute("list", field.getAttribute("list") || "");
  input.id = field.id + "-picker";
  input.setAttribute("data-testid", "tag-input");
  field.removeAttribute("list");
  field.type = "hidden";
  field.parentNode.insertBefore(wrapper, field);
  labels.forEach(function (label) { label.htmlFor = input.id; });

  function sync() {
    field.value = names.join(", ");
    wrapper.querySelectorAll(".tag-chip").forEach(function (chip) { chip.remove(); });
    names.forEach(function (name, index) {
      var chip = document.createElement("span");
      chip.className = "badge text-bg-primary tag-chip";
      chip.textContent = name + " ";
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "btn-close btn-close-white btn-sm";
      remove.setAttribute("aria-label", "Remove " + name);
      remove.addEventListener("click", function () { names.splice(index, 1); sync(); input.focus(); });
      chip.appendChild(remove);
      wrapper.insertBefore(chip, input);
    });
  }

  function add(text) {
    var name = text.replace(/,/g, " ").trim().replace(/\s+/g, " ");
    if (!name) { return; }
    var exists = names.some(function (n) { return n.toLowerCase() === name.toLowerCase(); });
    if (!exists) { names.push(name); }
    input.value = "";
    sync();
  }

  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" || event.key === ",") {
      event.preventDefault();
      add(input.value);
    } else if (event.key === "Backspace" && !input.value && names.length) {
      names.pop();
      sync();
    }
  });
  // Picking a suggestion from the list adds it at once.
  input.addEventListener("change", function () { if (input.value) { add(input.value); } });
  form.addEventListener("submit", function () { if (input.value) { add(input.value); } });
  wrapper.appendChild(input);
  sync();
})();
