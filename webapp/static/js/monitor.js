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
 * can show what this page has seen. Choosing one of those ranges also reads the
 * samples stored on the server (the "Record a memory sample" task) from
 * data-samples-url, so the chart covers the time before the page was opened; a
 * silence longer than the samples' usual spacing is drawn as a gap, not a line.
 * Longer ranges are downsampled for drawing.
 *
 * Number and time formatting, the sample store and the chart are in
 * monitor_parts.js; how a sample is shown (gauges, fields, processes) in
 * monitor_view.js.
 *
 * Settings and every text shown come from data- attributes rendered by the
 * template (translated there). For the browser tests the page exposes
 *   window.webappMonitor = {socket: <Socket.IO socket>, chart: <Chart.js chart>}
 */
(function () {
  "use strict";

  var root = document.getElementById("monitor");
  var parts = window.webappMonitorParts, views = window.webappMonitorView;
  if (!root || !parts || !views || typeof window.io !== "function" || typeof window.Chart !== "function") { return; }

  // Constants first, then small functions by topic; the page starts at the bottom.
  var KEEP_SECONDS = 24 * 3600;    // samples kept for the chart's longest range
  var LIVE_RANGE = 300;            // ranges longer than this also read the stored samples
  var ACK_TIMEOUT_MS = 5000;       // a (un)subscribe without an answer is sent again
  var BADGE_CLASSES = {
    connecting: "text-bg-secondary", connected: "text-bg-success",
    reconnecting: "text-bg-warning", disconnected: "text-bg-danger",
  };

  // The page's state, set up at the bottom of this file once every function is defined.
  var settings, texts, format, ui, state, store, chart, view, socket;

  // -- reading the page ---------------------------------------------------------

  function readSettings(el) {
    var number = function (name) { return Number(el.getAttribute("data-" + name)); };
    return {
      namespace: el.getAttribute("data-namespace"),
      samplesUrl: el.getAttribute("data-samples-url"),
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
        heading: one("#" + name + "-heading"),
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
      announcer: one('[data-testid="level-announcer"]'),
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

  /** Redraw the chosen range, ending at the newest sample (server time, no clock skew). */
  function drawChart() {
    var newest = store.newest();
    if (!newest) { return; }
    var start = newest.t - state.range;
    var series = store.series(start, state.range / parts.SampleStore.MAX_DRAWN_POINTS);
    chart.data.datasets[0].data = series.used;
    chart.data.datasets[1].data = series.swap;
    chart.options.scales.x.min = start * 1000;
    chart.options.scales.x.max = newest.t * 1000;
    chart.update("none");
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
    samples.forEach(function (sample) { store.add(sample, liveStep()); });
    var newest = samples[samples.length - 1];
    if (newest && newest.ts >= store.newest().t) { view.renderSample(newest); }
    drawChart();
  }

  function onMemory(sample) {
    if (!listening()) { return; }  // in flight when Stop was pressed
    state.lastArrival = performance.now();
    checkStale();
    if (store.add(sample, liveStep()) && sample.ts >= store.newest().t) {
      view.renderSample(sample);
      drawChart();
    }
  }

  function onProcesses(message) {
    if (listening()) { view.renderProcesses(message); }
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
    if (state.range > LIVE_RANGE) { loadStored(state.range); }
  }

  /** Seconds between two live samples at the chosen update interval. */
  function liveStep() { return settings.tick * state.interval; }

  /** Add the server's stored samples of the last `range` seconds, then redraw. */
  function loadStored(range) {
    var url = settings.samplesUrl + "?range=" + encodeURIComponent(range);
    window.fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (answer) {
        if (!answer) { return; }
        answer.samples.forEach(function (sample) { store.addPoint(sample.ts, sample.used, sample.swap, answer.step); });
        state.storedLoaded += 1;
        root.setAttribute("data-stored-loaded", String(state.storedLoaded));  // for the browser tests
        drawChart();
      })
      .catch(function () { /* the live samples still show; the next range click tries again */ });
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
  format = parts.makeFormatters(document.documentElement.lang || "en", root.getAttribute("data-time-zone"));
  ui = findElements(root);
  state = {
    wanted: true,                  // monitoring is started (the default) rather than stopped
    interval: settings.interval,   // chosen update interval, in ticks
    serverInterval: 0,             // what the server sends us (0: nothing, null: unknown)
    request: 0,                    // id of the latest (un)subscribe; older answers are ignored
    pending: false,                // that request awaits its answer
    lastArrival: performance.now(),  // when the last sample arrived (stale marker)
    range: LIVE_RANGE,             // chart range in seconds
    storedLoaded: 0,               // answers from data-samples-url so far
  };
  store = new parts.SampleStore(KEEP_SECONDS);

  chart = parts.createChart(ui.canvas, texts, format, {
    range: function () { return state.range; },
    hasSamples: function () { return !!store.newest(); },
  });
  view = views.create(ui, settings, texts, format, chart);
  socket = window.io(settings.namespace, {transports: ["websocket"]});
  window.webappMonitor = {socket: socket, chart: chart};  // for the browser tests (see the top)

  bindSocket();
  bindControls();
  renderControls();
  window.setInterval(checkStale, Math.max(200, settings.tick * 500));
  new MutationObserver(function () { parts.applyThemeColours(chart); chart.update("none"); })
    .observe(document.documentElement, {attributes: true, attributeFilter: ["data-bs-theme"]});
})();
