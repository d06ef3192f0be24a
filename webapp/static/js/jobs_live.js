// Live job screens: the list refreshes next run, state and last run of its rows; the
// job detail page adds and updates run rows as the scheduler records them.
(function () {
  "use strict";
  var PERIOD = 2000;

  function every(period, work) {
    var busy = false;
    setInterval(function () {
      if (busy || document.hidden) { return; }
      busy = true;
      work().catch(function () { /* keep the page as it is; try again next time */ })
        .then(function () { busy = false; });
    }, period);
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(response.status); }
        return response.json();
      });
  }

  // The page's words (templates/macros/jobs.html, job_words): this file holds no English.
  var words = document.getElementById("job-words");
  function word(key) {
    var found = words && words.content.querySelector('[data-word="' + key + '"]');
    return found ? found.textContent : key;
  }

  /** A run's status as a badge, in the page's language. */
  function badge(status) {
    var colours = { succeeded: "success", failed: "danger", missed: "warning", skipped: "secondary" };
    var span = stateBadge("status-" + status, colours[status] || "info");
    span.setAttribute("data-status", status);
    return span;
  }

  /** A job's state (a key of the page's words) as a badge. */
  function stateBadge(key, colour) {
    var span = document.createElement("span");
    span.className = "badge text-bg-" + colour;
    span.textContent = word(key);
    return span;
  }

  // -- the job list -----------------------------------------------------------------
  var jobs = document.getElementById("jobs");
  if (jobs) {
    every(PERIOD, function () {
      var rows = jobs.querySelectorAll("tr[data-job-id]");
      if (!rows.length) { return Promise.resolve(); }
      var query = new URLSearchParams();
      rows.forEach(function (row) { query.append("id", row.getAttribute("data-job-id")); });
      return getJSON(jobs.getAttribute("data-status-url") + "?" + query).then(function (body) {
        rows.forEach(function (row) {
          var job = body.jobs[row.getAttribute("data-job-id")];
          var next = row.querySelector("[data-cell=next_run]");
          var state = row.querySelector("[data-cell=state]");
          var last = row.querySelector("[data-cell=last_run]");
          if (!job) {
            var gone = stateBadge("gone", "secondary");
            gone.setAttribute("data-state", "gone");
            state.replaceChildren(gone);
            row.classList.add("text-body-secondary");
            return;
          }
          if (job.next_run) {
            var relative = document.createElement("span");
            relative.title = job.next_run;
            relative.setAttribute("data-part", "relative");
            relative.textContent = job.next_run_text;
            var absolute = document.createElement("span");
            absolute.className = "small text-body-secondary";
            absolute.setAttribute("data-part", "absolute");
            absolute.textContent = job.next_run_short;
            next.replaceChildren(relative, document.createElement("br"), absolute);
          } else {
            next.textContent = "—";
          }
          state.replaceChildren(job.paused ? stateBadge("paused", "warning") :
            job.held ? stateBadge("held", "secondary") : stateBadge("scheduled", "success"));
          if (job.last_status) {
            var parts = [badge(job.last_status)];
            if (job.last_duration_ms !== null) {
              var duration = document.createElement("span");
              duration.className = "small";
              duration.textContent = " " + Math.round(job.last_duration_ms) + " ms";
              parts.push(duration);
            }
            last.replaceChildren.apply(last, parts);
          }
        });
      });
    });
  }

  // -- the runs of one job ------------------------------------------------------------
  var runs = document.getElementById("runs");
  if (runs && runs.hasAttribute("data-live")) {
    var body = runs.querySelector("tbody");
    every(PERIOD, function () {
      return getJSON(runs.getAttribute("data-runs-url")).then(function (data) {
        Object.keys(data.stats).forEach(function (key) {
          var cell = document.querySelector("[data-stat=" + key + "]");
          if (!cell) { return; }
          var value = data.stats[key];
          cell.textContent = value === null ? "—" :
            key === "success_rate" ? value.toFixed(1) + "%" :
            key === "mean_duration_ms" ? value.toFixed(1) + " ms" : String(value);
        });
        var open = {};
        body.querySelectorAll("tr[data-run-id] details[open]").forEach(function (details) {
          open[details.closest("tr").getAttribute("data-run-id")] = true;
        });
        if (!data.runs.length) { return; }
        body.replaceChildren.apply(body, data.runs.map(function (run) {
          var row = document.createElement("tr");
          row.setAttribute("data-testid", "run-row");
          row.setAttribute("data-run-id", run.id);
          var cells = [0, 1, 2, 3, 4].map(function () { return document.createElement("td"); });
          cells[0].textContent = run.scheduled_at;
          cells[1].append(badge(run.status));
          cells[2].textContent = run.started_at;
          cells[3].textContent = run.duration_ms === null ? "" : run.duration_ms.toFixed(1) + " ms";
          if (run.error) {
            var details = document.createElement("details");
            details.open = !!open[run.id];
            var summary = document.createElement("summary");
            summary.className = "text-danger";
            summary.textContent = run.error;
            var trace = document.createElement("pre");
            trace.className = "small mb-0";
            trace.textContent = run.traceback || "";
            details.append(summary, trace);
            cells[4].append(details);
          }
          row.append.apply(row, cells);
          return row;
        }));
      });
    });
  }
}());
