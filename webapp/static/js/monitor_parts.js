/*
 * Pieces of the live memory monitor page that hold no page state: number and time
 * formatting, the store of samples seen, and the Chart.js chart. monitor.js uses
 * them through window.webappMonitorParts (load this file first).
 */
(function () {
  "use strict";

  var TICK_STEPS = {300: 60, 3600: 600, 86400: 3 * 3600};  // x-axis label spacing per range (s)

  // -- formatting ---------------------------------------------------------------

  function makeFormatters(locale, timeZone) {
    var units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    var whole = numberFormat(locale, {maximumFractionDigits: 0});
    var decimal = numberFormat(locale, {minimumFractionDigits: 1, maximumFractionDigits: 1});
    var compact = numberFormat(locale, {maximumFractionDigits: 1});
    var percent = numberFormat(locale, {style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1});
    var clock = dateFormat(locale, timeZone, {timeStyle: "medium"});  // as the server writes times
    var shortClock = dateFormat(locale, timeZone, {timeStyle: "short"});
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

  // -- the samples seen since the page opened -----------------------------------

  /**
   * Points {t (unix s), used, swap, step} sorted by time, no older than keepSeconds
   * before the newest. `step` is how many seconds apart such samples normally are
   * (live: the update interval; stored: the server's median spacing).
   */
  function SampleStore(keepSeconds) {
    this.keepSeconds = keepSeconds;
    this.points = [];
  }

  /** Add one live sample; false if it was already there (a history replaying what we had). */
  SampleStore.prototype.add = function (sample, step) {
    return this.addPoint(sample.ts, sample.ram.used, (sample.swap || {}).used || 0, step);
  };

  /** Add one reading; false if a reading of that second was already there. */
  SampleStore.prototype.addPoint = function (t, used, swap, step) {
    var point = {t: t, used: used, swap: swap, step: step || 0};
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
   * With more than SampleStore.MAX_DRAWN_POINTS, samples are grouped into time buckets of
   * `bucketSeconds` (aligned to the clock, so buckets do not shift as the window
   * slides) and each bucket is drawn as its highest value, so peaks stay visible.
   * Where two neighbours are further apart than GAP_FACTOR times their spacing, a
   * point with y null goes between them: Chart.js leaves the line open there.
   */
  SampleStore.prototype.series = function (start, bucketSeconds) {
    var points = this.points.slice(this.indexOf(start));
    var used = [], swap = [], previous = null;
    var bucketed = points.length > SampleStore.MAX_DRAWN_POINTS;
    var add = function (p) {
      var spacing = Math.max(p.step, bucketed ? bucketSeconds : 0);
      if (previous && p.t - previous.t > SampleStore.GAP_FACTOR * Math.max(spacing, previous.step)) {
        var middle = (previous.t + p.t) * 500;
        used.push({x: middle, y: null});
        swap.push({x: middle, y: null});
      }
      used.push({x: p.t * 1000, y: p.used});
      swap.push({x: p.t * 1000, y: p.swap});
      previous = {t: p.t, step: spacing};
    };
    if (!bucketed) {
      points.forEach(add);
      return {used: used, swap: swap};
    }
    var bucket = null, current = null;
    points.forEach(function (p) {
      var key = Math.floor(p.t / bucketSeconds);
      if (key !== bucket) {
        if (current) { add(current); }
        bucket = key;
        current = {t: p.t, used: p.used, swap: p.swap, step: p.step};
      } else {
        current.t = p.t;
        current.step = Math.max(current.step, p.step);
        current.used = Math.max(current.used, p.used);
        current.swap = Math.max(current.swap, p.swap);
      }
    });
    if (current) { add(current); }
    return {used: used, swap: swap};
  };

  SampleStore.MAX_DRAWN_POINTS = 720;  // per line; more samples than this are bucketed
  SampleStore.GAP_FACTOR = 2.5;        // a silence this many spacings long is a gap

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
  function alignedTicks(scale, rangeSeconds, hasSamples) {
    var step = TICK_STEPS[rangeSeconds] * 1000, ticks = [];
    if (!hasSamples) { scale.ticks = ticks; return; }  // no window yet: no labels
    for (var value = Math.ceil(scale.min / step) * step; value <= scale.max; value += step) {
      ticks.push({value: value});
    }
    scale.ticks = ticks;
  }

  /** A power-of-two byte step giving about six labels up to `max` (4 GiB, not 4.7 GiB). */
  function byteStep(max) {
    return max > 0 ? Math.pow(2, Math.ceil(Math.log2(max / 6))) : undefined;
  }

  /** The chart; `page.range()` is the window in seconds, `page.hasSamples()` whether any came. */
  function createChart(canvas, texts, format, page) {
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
            afterBuildTicks: function (scale) { alignedTicks(scale, page.range(), page.hasSamples()); },
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

  window.webappMonitorParts = {
    makeFormatters: makeFormatters, SampleStore: SampleStore, createChart: createChart,
    applyThemeColours: applyThemeColours, byteStep: byteStep,
  };
})();
