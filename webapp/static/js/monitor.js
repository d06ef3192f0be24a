/*
 * The live memory monitor page (templates/monitor/index.html).
 *
 * Connects to the Socket.IO namespace named by #monitor's data-namespace, over
 * WebSocket from the start, and renders what the server sends (the message
 * format is documented in the README, "Live memory monitor"):
 *   "history"   {interval, samples: [sample, ...]}       once per subscription
 *   "memory"    sample                                   every update interval
 *   "processes" {ts, items: [{pid, name, username, rss, percent}]}   every 5 s
 *
 * The page wants samples while monitoring is started (Start/Stop), the tab is
 * visible and the socket is connected. sync() brings the server in line with
 * that by emitting "subscribe" or "unsubscribe", one request at a time: the
 * server may handle a socket's events concurrently, so the next request only
 * goes out once the previous one is answered. After a reconnect the server has
 * forgotten us, so "connect" resets what we believe and syncs again.
 *
 * Samples are kept in memory (24 h at most) so the 1 h and 24 h chart ranges
 * can show what this page has seen; longer ranges are downsampled for drawing.
 *
 * Settings and every text shown come from data- attributes rendered by the
 * template (translated there). For the browser tests the page exposes
 *   window.webappMonitor = {socket: <Socket.IO socket>, chart: <Chart.js chart>}
 */
(function () {
  "use strict";

  var root = document.getElementById("monitor");
  if (!root || typeof window.io !== "function" || typeof window.Chart !== "function") { return; }

  // Constants first, then small functions by topic; the page starts at the bottom.
  var KEEP_SECONDS = 24 * 3600;    // samples kept for the chart's longest range
  var MAX_DRAWN_POINTS = 720;      // per line; more samples than this are bucketed
  var ACK_TIMEOUT_MS = 5000;       // a (un)subscribe without an answer is sent again
  var TICK_STEPS = {300: 60, 3600: 600, 86400: 3 * 3600};  // x-axis label spacing per range (s)
  var LEVEL_CLASSES = {
    bar: {ok: "bg-success", warning: "bg-warning", critical: "bg-danger"},
    card: {ok: "", warning: "border-warning", critical: "border-danger"},
    badge: {ok: "", warning: "text-bg-warning", critical: "text-bg-danger"},
    row: {ok: "", warning: "table-warning", critical: "table-danger"},
  };
  var BADGE_CLASSES = {
    connecting: "text-bg-secondary", connected: "text-bg-success",
    reconnecting: "text-bg-warning", disconnected: "text-bg-danger",
  };

  // The page's state, set up at the bottom of this file once every function is defined.
  var settings, texts, format, ui, state, store, chart, socket;

  // -- reading the page ---------------------------------------------------------

  function readSettings(el) {
    var number = function (name) { return Number(el.getAttribute("data-" + name)); };
    return {
      namespace: el.getAttribute("data-namespace"),
      tick: number("tick") || 1,
      interval: number("interval") || 1,
      warning: number("warning"),
      critical: number("critical"),
      hysteresis: number("hysteresis"),
    };
  }

  function findElements(el) {
    var one = function (selector) { return el.querySelector(selector); };
    var gauge = function (name) {
      return {
        card: one('[data-gauge="' + name + '"]'),
        percent: one('[data-field="' + name + '-percent"]'),
        level: one('[data-field="' + name + '-level"]'),
        progress: one('[data-field="' + name + '-progress"]'),
        bar: one('[data-field="' + name + '-bar"]'),
        used: one('[data-field="' + name + '-used"]'),
        total: one('[data-field="' + name + '-total"]'),
      };
    };
    var fields = function (kind) {
      var table = one('[data-fields="' + kind + '"]');
      return {body: table.tBodies[0], labels: JSON.parse(table.getAttribute("data-labels") || "{}"), rows: {}};
    };
    return {
      badge: document.getElementById("monitor-connection"),
      start: one('[data-action="start"]'),
      stop: one('[data-action="stop"]'),
      interval: one("#monitor-interval"),
      state: one('[data-testid="monitor-state"]'),
      stale: one('[data-testid="stale-marker"]'),
      lastSample: one('[data-testid="last-sample"]'),
      lastTime: one('[data-field="last-time"]'),
      lastSeq: one('[data-field="last-seq"]'),
      ranges: el.querySelectorAll("[data-range]"),
      canvas: one("#monitor-chart"),
      gauges: {ram: gauge("ram"), swap: gauge("swap")},
      fields: {virtual: fields("virtual"), swap: fields("swap")},
      processes: one('[data-testid="processes"]').tBodies[0],
      processesTime: one('[data-field="processes-time"]'),
    };
  }

  // -- formatting ---------------------------------------------------------------

  function makeFormatters(locale, timeZone) {
    var units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    var whole = numberFormat(locale, {maximumFractionDigits: 0});
    var decimal = numberFormat(locale, {minimumFractionDigits: 1, maximumFractionDigits: 1});
    var compact = numberFormat(locale, {maximumFractionDigits: 1});
    var percent = numberFormat(locale, {style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1});
    var clock = dateFormat(locale, timeZone, {hour: "2-digit", minute: "2-digit", second: "2-digit"});
    var shortClock = dateFormat(locale, timeZone, {hour: "2-digit", minute: "2-digit"});
    return {
      /** 1536 -> "1.5 KiB", 4096 -> "4.0 KiB" (binary units); `short`: "4 KiB" (axis labels). */
      bytes: function (value, short) {
        if (typeof value !== "number" || !isFinite(value)) { return "–"; }
        var unit = 0;
        while (Math.abs(value) >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
        return (unit === 0 ? whole : short ? compact : decimal).format(value) + " " + units[unit];
      },
      exactBytes: function (value) { return whole.format(value) + " B"; },
      /** 42.13 -> "42.1%" (the value is already a percentage). */
      percent: function (value) {
        return typeof value === "number" ? percent.format(value / 100) : "–";
      },
      time: function (seconds) { return clock.format(new Date(seconds * 1000)); },
      shortTime: function (seconds) { return shortClock.format(new Date(seconds * 1000)); },
      number: function (value) { return whole.format(value); },
    };
  }

  function numberFormat(locale, options) {
    try { return new Intl.NumberFormat(locale, options); } catch { return new Intl.NumberFormat("en", options); }
  }

  /** Times in the console's display time zone when the browser knows it. */
  function dateFormat(locale, timeZone, options) {
    try {
      return new Intl.DateTimeFormat(locale, Object.assign({timeZone: timeZone || undefined}, options));
    } catch {
      return new Intl.DateTimeFormat(locale, options);
    }
  }

  /** psutil fields are bytes, except "percent" (a percentage) and anything not a number. */
  function formatField(key, value) {
    if (key === "percent") { return format.percent(value); }
    if (typeof value === "number") { return format.bytes(value); }
    return String(value);
  }

  function isoTime(seconds) { return new Date(seconds * 1000).toISOString(); }

  // -- the samples seen since the page opened -----------------------------------

  /** Points {t (unix s), used, swap} sorted by time, no older than keepSeconds before the newest. */
  function SampleStore(keepSeconds) {
    this.keepSeconds = keepSeconds;
    this.points = [];
  }

  /** Add one sample; false if it was already there (a history replaying what we had). */
  SampleStore.prototype.add = function (sample) {
    var point = {t: sample.ts, used: sample.ram.used, swap: (sample.swap || {}).used || 0};
    var points = this.points, last = points[points.length - 1];
    if (!last || point.t > last.t) {
      points.push(point);
    } else {
      var at = this.indexOf(point.t);
      if (at < points.length && points[at].t === point.t) { return false; }
      points.splice(at, 0, point);
    }
    var cut = this.indexOf(points[points.length - 1].t - this.keepSeconds);
    if (cut > 0) { points.splice(0, cut); }
    return true;
  };

  SampleStore.prototype.newest = function () { return this.points[this.points.length - 1]; };

  /** Index of the first point at or after time t (binary search). */
  SampleStore.prototype.indexOf = function (t) {
    var low = 0, high = this.points.length;
    while (low < high) {
      var middle = (low + high) >> 1;
      if (this.points[middle].t < t) { low = middle + 1; } else { high = middle; }
    }
    return low;
  };

  /**
   * The points from time `start` on as two Chart.js series ({x: ms, y: bytes}).
   * With more than MAX_DRAWN_POINTS, samples are grouped into time buckets of
   * `bucketSeconds` (aligned to the clock, so buckets do not shift as the window
   * slides) and each bucket is drawn as its highest value, so peaks stay visible.
   */
  SampleStore.prototype.series = function (start, bucketSeconds) {
    var points = this.points.slice(this.indexOf(start));
    var used = [], swap = [];
    var add = function (p) { used.push({x: p.t * 1000, y: p.used}); swap.push({x: p.t * 1000, y: p.swap}); };
    if (points.length <= MAX_DRAWN_POINTS) {
      points.forEach(add);
      return {used: used, swap: swap};
    }
    var bucket = null, current = null;
    points.forEach(function (p) {
      var key = Math.floor(p.t / bucketSeconds);
      if (key !== bucket) {
        if (current) { add(current); }
        bucket = key;
        current = {t: p.t, used: p.used, swap: p.swap};
      } else {
        current.t = p.t;
        current.used = Math.max(current.used, p.used);
        current.swap = Math.max(current.swap, p.swap);
      }
    });
    if (current) { add(current); }
    return {used: used, swap: swap};
  };

  // -- the chart ----------------------------------------------------------------

  /** Text and grid colours follow the Bootstrap theme (light or dark, switchable any time). */
  function applyThemeColours(target) {
    var style = window.getComputedStyle(document.body);
    var text = style.getPropertyValue("--bs-secondary-color").trim() || "#6c757d";
    var grid = style.getPropertyValue("--bs-border-color-translucent").trim() || "rgba(0, 0, 0, .175)";
    var options = target.options;
    options.plugins.legend.labels.color = text;
    ["x", "y"].forEach(function (axis) {
      options.scales[axis].ticks.color = text;
      options.scales[axis].grid.color = grid;
      options.scales[axis].border.color = grid;
    });
  }

  /** Axis labels on whole minutes, ten minutes or three hours, whatever the window's edges. */
  function alignedTicks(scale) {
    var step = TICK_STEPS[state.range] * 1000, ticks = [];
    if (!store.newest()) { scale.ticks = ticks; return; }  // no window yet: no labels
    for (var value = Math.ceil(scale.min / step) * step; value <= scale.max; value += step) {
      ticks.push({value: value});
    }
    scale.ticks = ticks;
  }

  /** A power-of-two byte step giving about six labels up to `max` (4 GiB, not 4.7 GiB). */
  function byteStep(max) {
    return max > 0 ? Math.pow(2, Math.ceil(Math.log2(max / 6))) : undefined;
  }

  function createChart(canvas) {
    var line = function (label, colour) {
      return {label: label, data: [], borderColor: colour, backgroundColor: colour,
              borderWidth: 2, pointRadius: 0, pointHitRadius: 4, tension: 0};
    };
    var created = new window.Chart(canvas, {
      type: "line",
      data: {datasets: [line(texts.usedMemory, "#0d6efd"), line(texts.swapUsed, "#d63384")]},
      options: {
        animation: false,
        parsing: false,
        normalized: true,
        responsive: true,
        maintainAspectRatio: false,
        interaction: {mode: "index", intersect: false},
        scales: {
          x: {
            type: "linear",
            afterBuildTicks: alignedTicks,
            ticks: {maxRotation: 0, callback: function (value) { return format.shortTime(value / 1000); }},
            grid: {}, border: {},
          },
          y: {
            beginAtZero: true,
            ticks: {callback: function (value) { return format.bytes(value, true); }},
            grid: {}, border: {},
          },
        },
        plugins: {
          legend: {labels: {}},
          tooltip: {
            callbacks: {
              title: function (items) { return items.length ? format.time(items[0].parsed.x / 1000) : ""; },
              label: function (item) { return item.dataset.label + ": " + format.bytes(item.parsed.y); },
            },
          },
        },
      },
    });
    applyThemeColours(created);
    created.update("none");
    return created;
  }

  /** Redraw the chosen range, ending at the newest sample (server time, no clock skew). */
  function drawChart() {
    var newest = store.newest();
    if (!newest) { return; }
    var start = newest.t - state.range;
    var series = store.series(start, state.range / MAX_DRAWN_POINTS);
    chart.data.datasets[0].data = series.used;
    chart.data.datasets[1].data = series.swap;
    chart.options.scales.x.min = start * 1000;
    chart.options.scales.x.max = newest.t * 1000;
    chart.update("none");
  }

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
    renderGauge("ram", sample.ram.percent, sample.ram.used, sample.ram.total);
    renderGauge("swap", sample.swap_used_percent, swap.used, swap.total);
    renderFields(ui.fields.virtual, sample.virtual || {}, state.levels.ram);
    renderFields(ui.fields.swap, swap, state.levels.swap);
    ui.lastTime.textContent = format.time(sample.ts);
    ui.lastTime.setAttribute("datetime", isoTime(sample.ts));
    ui.lastSeq.textContent = "#" + format.number(sample.seq);
    ui.lastSample.setAttribute("data-seq", String(sample.seq));
    chart.options.scales.y.suggestedMax = sample.ram.total;  // used memory against all of it
    chart.options.scales.y.ticks.stepSize = byteStep(sample.ram.total);
  }

  function renderGauge(name, percent, used, total) {
    var level = state.levels[name] = nextLevel(state.levels[name], percent);
    var gauge = ui.gauges[name];
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

  // -- subscription ---------------------------------------------------------------

  /** Samples are wanted while monitoring is started and the tab is visible. */
  function listening() { return state.wanted && !document.hidden; }

  /** Subscribe, change interval or unsubscribe until the server sends what we want. */
  function sync() {
    if (state.pending || !socket.connected) { return; }
    var target = listening() ? state.interval : 0;
    if (target === state.serverInterval) { return; }
    var request = state.request += 1;
    var answered = function (serverInterval, retry) {
      if (request !== state.request) { return; }  // a reconnect made this answer stale
      state.pending = false;
      state.serverInterval = serverInterval;
      if (retry) { sync(); }
    };
    state.pending = true;
    if (target) {
      state.lastArrival = performance.now();  // give the first sample three intervals
      socket.timeout(ACK_TIMEOUT_MS).emit("subscribe", {interval: target}, function (error, reply) {
        if (error) { answered(null, true); return; }
        // A refusal (an interval the server does not offer) is not retried in a loop.
        answered(reply && reply.ok ? reply.interval : 0, Boolean(reply && reply.ok));
      });
    } else {
      socket.timeout(ACK_TIMEOUT_MS).emit("unsubscribe", function (error) {
        answered(error ? null : 0, true);
      });
    }
  }

  /** The server forgot this socket (new connection): nothing subscribed, nothing pending. */
  function forgetSubscription() {
    state.request += 1;
    state.pending = false;
    state.serverInterval = 0;
  }

  function onHistory(message) {
    if (!listening()) { return; }
    var samples = message.samples || [];
    samples.forEach(function (sample) { store.add(sample); });
    var newest = samples[samples.length - 1];
    if (newest && newest.ts >= store.newest().t) { renderSample(newest); }
    drawChart();
  }

  function onMemory(sample) {
    if (!listening()) { return; }  // in flight when Stop was pressed
    state.lastArrival = performance.now();
    checkStale();
    if (store.add(sample) && sample.ts >= store.newest().t) {
      renderSample(sample);
      drawChart();
    }
  }

  function onProcesses(message) {
    if (listening()) { renderProcesses(message); }
  }

  // -- connection, controls, status -------------------------------------------------

  function bindSocket() {
    socket.on("connect", function () {
      setConnection("connected");
      forgetSubscription();
      sync();
    });
    socket.on("disconnect", function () {
      forgetSubscription();
      // socket.active: the client will reconnect (not after a server-side disconnect).
      setConnection(socket.active ? "reconnecting" : "disconnected");
    });
    socket.on("connect_error", function () {
      setConnection(socket.active ? "reconnecting" : "disconnected");  // refused: not active
    });
    socket.io.on("reconnect_attempt", function () { setConnection("reconnecting"); });
    socket.io.on("reconnect", function () { setConnection("connected"); });
    socket.io.on("reconnect_failed", function () { setConnection("disconnected"); });
    socket.on("history", onHistory);
    socket.on("memory", onMemory);
    socket.on("processes", onProcesses);
  }

  function bindControls() {
    ui.start.addEventListener("click", function () { setWanted(true); ui.stop.focus(); });
    ui.stop.addEventListener("click", function () { setWanted(false); ui.start.focus(); });
    ui.interval.value = String(state.interval);
    ui.interval.addEventListener("change", function () {
      state.interval = Number(ui.interval.value);
      sync();
    });
    ui.ranges.forEach(function (button) {
      button.addEventListener("click", function () { setRange(button); });
    });
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden) { state.lastArrival = performance.now(); }
      sync();
      renderControls();
    });
  }

  function setWanted(wanted) {
    state.wanted = wanted;
    if (wanted) { state.lastArrival = performance.now(); }
    sync();
    renderControls();
  }

  function setRange(chosen) {
    state.range = Number(chosen.getAttribute("data-range"));
    ui.ranges.forEach(function (button) {
      button.classList.toggle("active", button === chosen);
      button.setAttribute("aria-pressed", String(button === chosen));
    });
    drawChart();
  }

  function renderControls() {
    var name = !state.wanted ? "stopped" : document.hidden ? "paused" : "running";
    ui.start.disabled = state.wanted;
    ui.stop.disabled = !state.wanted;
    ui.state.setAttribute("data-state", name);
    ui.state.textContent = texts[name];
    checkStale();
  }

  /** The badge (aria-live) changes only when the state does, so it is announced once. */
  function setConnection(name) {
    if (ui.badge.getAttribute("data-state") === name) { return; }
    Object.keys(BADGE_CLASSES).forEach(function (key) {
      ui.badge.classList.toggle(BADGE_CLASSES[key], key === name);
    });
    ui.badge.setAttribute("data-state", name);
    ui.badge.textContent = texts[name];
  }

  /** Stale: monitoring, yet no sample for three update intervals. */
  function checkStale() {
    var limit = 3 * state.interval * settings.tick * 1000;
    var stale = listening() && performance.now() - state.lastArrival > limit;
    if (ui.stale.hidden === stale) {
      ui.stale.hidden = !stale;
      root.classList.toggle("monitor-is-stale", stale);
    }
  }

  // -- start ------------------------------------------------------------------

  settings = readSettings(root);
  texts = JSON.parse(root.getAttribute("data-texts") || "{}");
  format = makeFormatters(document.documentElement.lang || "en", root.getAttribute("data-time-zone"));
  ui = findElements(root);
  state = {
    wanted: true,                  // monitoring is started (the default) rather than stopped
    interval: settings.interval,   // chosen update interval, in ticks
    serverInterval: 0,             // what the server sends us (0: nothing, null: unknown)
    request: 0,                    // id of the latest (un)subscribe; older answers are ignored
    pending: false,                // that request awaits its answer
    lastArrival: performance.now(),  // when the last sample arrived (stale marker)
    range: 300,                    // chart range in seconds
    levels: {ram: "ok", swap: "ok"},
  };
  store = new SampleStore(KEEP_SECONDS);

  chart = createChart(ui.canvas);
  socket = window.io(settings.namespace, {transports: ["websocket"]});
  window.webappMonitor = {socket: socket, chart: chart};  // for the browser tests (see the top)

  bindSocket();
  bindControls();
  renderControls();
  window.setInterval(checkStale, Math.max(200, settings.tick * 500));
  new MutationObserver(function () { applyThemeColours(chart); chart.update("none"); })
    .observe(document.documentElement, {attributes: true, attributeFilter: ["data-bs-theme"]});
})();
