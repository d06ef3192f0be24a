/*
 * How the live memory monitor shows a sample: the two gauges with their warning
 * levels, the tables of psutil fields, and the process list. monitor.js creates the
 * view with window.webappMonitorView.create(...) (load this file before it) and
 * calls renderSample / renderProcesses; the view keeps only the current levels.
 */
(function () {
  "use strict";

  var parts = window.webappMonitorParts;

  /**
   * ui: the page's elements (monitor.js findElements), settings: thresholds,
   * texts: translated words, format: monitor_parts formatters, chart: the Chart.js chart.
   */
  function create(ui, settings, texts, format, chart) {
    var levels = {ram: "ok", swap: "ok"};

    var LEVEL_CLASSES = {
      bar: {ok: "bg-success", warning: "bg-warning", critical: "bg-danger"},
      card: {ok: "", warning: "border-warning", critical: "border-danger"},
      badge: {ok: "", warning: "text-bg-warning", critical: "text-bg-danger"},
      row: {ok: "", warning: "table-warning", critical: "table-danger"},
    };

    /** psutil fields are bytes, except "percent" (a percentage) and anything not a number. */
    function formatField(key, value) {
      if (key === "percent") { return format.percent(value); }
      if (typeof value === "number") { return format.bytes(value); }
      return String(value);
    }

    function isoTime(seconds) { return new Date(seconds * 1000).toISOString(); }

    // -- rendering a sample -------------------------------------------------------

    /**
     * The next warning level for a percentage. A level is entered at its threshold
     * and left only once the value falls `hysteresis` points below it, so a value
     * hovering around a threshold does not make the colours flicker.
     */
    function nextLevel(current, value) {
      var hold = settings.hysteresis;
      if (value >= settings.critical || (current === "critical" && value > settings.critical - hold)) {
        return "critical";
      }
      if (value >= settings.warning || (current !== "ok" && value > settings.warning - hold)) {
        return "warning";
      }
      return "ok";
    }

    function swapClasses(el, classes, level) {
      Object.keys(classes).forEach(function (name) {
        if (classes[name]) { el.classList.toggle(classes[name], name === level); }
      });
    }

    function renderSample(sample) {
      var swap = sample.swap || {};
      var changes = [];
      renderGauge("ram", sample.ram.percent, sample.ram.used, sample.ram.total, changes);
      renderGauge("swap", sample.swap_used_percent, swap.used, swap.total, changes);
      // One polite announcement when a level changes (both gauges at once), none otherwise:
      // a screen reader hears "RAM used: Warning, 82.0%", not every sample.
      if (changes.length) { ui.announcer.textContent = changes.join(" "); }
      renderFields(ui.fields.virtual, sample.virtual || {}, levels.ram);
      renderFields(ui.fields.swap, swap, levels.swap);
      ui.lastTime.textContent = format.time(sample.ts);
      ui.lastTime.setAttribute("datetime", isoTime(sample.ts));
      ui.lastSeq.textContent = "#" + format.number(sample.seq);
      ui.lastSample.setAttribute("data-seq", String(sample.seq));
      chart.options.scales.y.suggestedMax = sample.ram.total;  // used memory against all of it
      chart.options.scales.y.ticks.stepSize = parts.byteStep(sample.ram.total);
    }

    /** Draw one gauge; a change of level is added to `changes` as a sentence. */
    function renderGauge(name, percent, used, total, changes) {
      var previous = levels[name];
      var level = levels[name] = nextLevel(previous, percent);
      var gauge = ui.gauges[name];
      if (level !== previous) {
        changes.push(texts.levelChanged.replace("{gauge}", gauge.heading.textContent.trim())
          .replace("{level}", texts[level]).replace("{percent}", format.percent(percent)));
      }
      gauge.percent.textContent = format.percent(percent);
      gauge.used.textContent = format.bytes(used);
      gauge.total.textContent = format.bytes(total);
      gauge.bar.style.width = Math.min(Math.max(percent, 0), 100) + "%";  // CSSOM: allowed by the CSP
      gauge.progress.setAttribute("aria-valuenow", String(Math.round(percent)));
      gauge.card.setAttribute("data-level", level);
      swapClasses(gauge.bar, LEVEL_CLASSES.bar, level);
      swapClasses(gauge.card, LEVEL_CLASSES.card, level);
      swapClasses(gauge.level, LEVEL_CLASSES.badge, level);
      gauge.level.textContent = texts[level] || "";
      gauge.level.hidden = level === "ok";
    }

    /** One row per field that arrives (platforms differ), in the order psutil gives them. */
    function renderFields(table, values, level) {
      Object.keys(values).forEach(function (key) {
        var row = table.rows[key] || addFieldRow(table, key);
        var cell = row.cells[1];
        cell.textContent = formatField(key, values[key]);
        cell.title = key !== "percent" && typeof values[key] === "number" ? format.exactBytes(values[key]) : "";
        if (key === "percent") { swapClasses(row, LEVEL_CLASSES.row, level); }
      });
    }

    function addFieldRow(table, key) {
      if (!Object.keys(table.rows).length) { table.body.replaceChildren(); }  // the "waiting" row
      var row = document.createElement("tr");
      var name = document.createElement("th");
      var code = document.createElement("code");
      var value = document.createElement("td");
      row.setAttribute("data-key", key);
      name.scope = "row";
      name.textContent = (table.labels[key] || key) + " ";
      code.textContent = key;
      name.appendChild(code);
      value.className = "text-end";
      row.append(name, value);
      table.body.appendChild(row);
      table.rows[key] = row;
      return row;
    }

    function renderProcesses(message) {
      var rows = (message.items || []).map(function (item) {
        var row = document.createElement("tr");
        [[item.pid, "text-end"], [item.name, ""], [item.username, ""],
         [format.bytes(item.rss), "text-end"], [format.percent(item.percent), "text-end"]]
          .forEach(function (cell) {
            var td = document.createElement("td");
            td.textContent = String(cell[0]);
            td.className = cell[1];
            row.appendChild(td);
          });
        return row;
      });
      if (!rows.length) {
        var empty = document.createElement("tr"), td = document.createElement("td");
        td.colSpan = 5;
        td.className = "text-body-secondary";
        td.textContent = texts.noProcesses;
        empty.appendChild(td);
        rows.push(empty);
      }
      ui.processes.replaceChildren.apply(ui.processes, rows);
      ui.processesTime.textContent = format.time(message.ts);
      ui.processesTime.setAttribute("datetime", isoTime(message.ts));
    }

    return {renderSample: renderSample, renderProcesses: renderProcesses};
  }

  window.webappMonitorView = {create: create};
})();
