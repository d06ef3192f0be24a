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
  // the picker hides it and shows chips plus an input that adds a tag on Enter or comma.
  // It suggests the existing tags (the field's <datalist>) as an ARIA combobox, by
  // keyboard as well as by mouse: typing filters them, ArrowDown / ArrowUp move through
  // them, Enter takes the one highlighted, Escape closes the list.
  var field = form.querySelector("[data-tag-picker]");
  if (!field) { return; }
  var labels = Array.prototype.slice.call(field.labels || []);  // read before the type changes
  // The remove buttons' label, translated by the template: "Remove {name}".
  var removeLabel = field.getAttribute("data-remove-label") || "{name}";
  var names = field.value.split(",").map(function (s) { return s.trim(); }).filter(Boolean);
  var wrapper = document.createElement("div");
  wrapper.className = "form-control d-flex flex-wrap gap-1 align-items-center tag-picker";
  if (field.classList.contains("is-invalid")) { wrapper.classList.add("is-invalid"); }
  var input = document.createElement("input");
  input.type = "text";
  input.className = "border-0 flex-grow-1 tag-picker-input";
  input.id = field.id + "-picker";
  input.setAttribute("data-testid", "tag-input");
  var datalist = document.getElementById(field.getAttribute("list") || "");
  var known = datalist ? Array.prototype.map.call(datalist.options, function (o) { return o.value; }) : [];
  field.removeAttribute("list");
  var listbox = document.createElement("ul");
  listbox.id = field.id + "-suggestions";
  listbox.className = "dropdown-menu tag-suggestions";
  listbox.setAttribute("role", "listbox");
  if (labels.length) { listbox.setAttribute("aria-label", labels[0].textContent.trim()); }
  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-expanded", "false");
  input.setAttribute("aria-controls", listbox.id);
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
      remove.setAttribute("aria-label", removeLabel.replace("{name}", name));
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
    setOpen(false);
    sync();
  }

  // -- suggestions ------------------------------------------------------------------
  var MAX_SUGGESTIONS = 10;
  var matches = [], active = -1;

  /** The existing tags containing what is typed, less those chosen already. */
  function suggest() {
    var typed = input.value.trim().toLowerCase();
    var chosen = names.map(function (n) { return n.toLowerCase(); });
    matches = known.filter(function (name) {
      var lower = name.toLowerCase();
      return lower.indexOf(typed) !== -1 && chosen.indexOf(lower) === -1;
    }).slice(0, MAX_SUGGESTIONS);
    listbox.replaceChildren.apply(listbox, matches.map(function (name, index) {
      var option = document.createElement("li");
      option.id = listbox.id + "-" + index;
      option.className = "dropdown-item";
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", "false");
      option.textContent = name;
      option.addEventListener("mousedown", function (event) { event.preventDefault(); });  // keep the focus
      option.addEventListener("click", function () { add(name); });
      return option;
    }));
    setOpen(matches.length > 0);
  }

  function setOpen(open) {
    listbox.classList.toggle("show", open);
    input.setAttribute("aria-expanded", String(open));
    active = -1;
    input.removeAttribute("aria-activedescendant");
  }

  function highlight(index) {
    active = index;
    Array.prototype.forEach.call(listbox.children, function (option, i) {
      option.classList.toggle("active", i === index);
      option.setAttribute("aria-selected", String(i === index));
    });
    input.setAttribute("aria-activedescendant", listbox.children[index].id);
    listbox.children[index].scrollIntoView({block: "nearest"});
  }

  function isOpen() { return listbox.classList.contains("show"); }

  input.addEventListener("input", suggest);
  input.addEventListener("blur", function () { setOpen(false); });
  input.addEventListener("keydown", function (event) {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!isOpen()) { suggest(); }
      if (!matches.length) { return; }
      var step = event.key === "ArrowDown" ? 1 : -1;
      var first = step > 0 ? 0 : matches.length - 1;
      highlight(active < 0 ? first : (active + step + matches.length) % matches.length);
    } else if (event.key === "Escape" && isOpen()) {
      event.preventDefault();
      setOpen(false);
    } else if (event.key === "Enter" || event.key === ",") {
      event.preventDefault();
      add(event.key === "Enter" && active >= 0 ? matches[active] : input.value);
    } else if (event.key === "Backspace" && !input.value && names.length) {
      names.pop();
      sync();
    }
  });
  form.addEventListener("submit", function () { if (input.value) { add(input.value); } });
  wrapper.appendChild(input);
  wrapper.appendChild(listbox);
  sync();
})();
