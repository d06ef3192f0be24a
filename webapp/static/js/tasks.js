/*
 * A background task's progress page (templates/tasks/detail.html).
 *
 * The server renders the task as stored, so the page is right without this script
 * and after any reload. This script keeps it live: it joins the task's room on the
 * Socket.IO namespace named by #task's data-namespace ("join_task" {id}; the ack
 * carries the current state) and shows every "task_progress" {id, status, done,
 * total} that arrives. Until the socket has joined, and while it is down, it asks
 * data-state-url instead, every few seconds. Once the task has finished it reads data-state-url once more
 * for the outcome in words (and the download link, for the owner of a download).
 *
 * Every text shown comes from data-texts, translated by the template: a label per
 * status, "cancelling", and "counts" with {done} and {total} placeholders.
 *
 * #task's data-connection says how the page follows the work: "socket" once it has
 * joined the task's room, "polling" while it asks the server instead, "done" at the end.
 */
(function () {
  "use strict";

  var root = document.getElementById("task");
  if (!root) { return; }

  var FINISHED = ["succeeded", "failed", "cancelled"];
  var POLL_MS = 2000;
  var BADGE_CLASSES = {
    queued: "text-bg-secondary", running: "text-bg-primary", succeeded: "text-bg-success",
    failed: "text-bg-danger", cancelled: "text-bg-warning",
  };

  var texts = JSON.parse(root.getAttribute("data-texts"));
  var taskId = Number(root.getAttribute("data-task-id"));
  var stateUrl = root.getAttribute("data-state-url");
  var numbers = new Intl.NumberFormat(document.documentElement.lang || undefined);
  var ui = {
    label: document.querySelector("[data-task-label]"),
    progress: root.querySelector("#task-progress"),
    counts: root.querySelector("[data-task-counts]"),
    message: root.querySelector("[data-task-message]"),
    download: root.querySelector("[data-task-download]"),
    cancel: root.querySelector("[data-task-cancel]"),
    started: root.querySelector("[data-task-started]"),
    finished: root.querySelector("[data-task-finished]"),
  };
  // The Cancel button is disabled once a cancel was asked for (the page was reloaded).
  var cancelling = Boolean(ui.cancel && ui.cancel.querySelector("button[disabled]"));
  var current = {
    status: root.getAttribute("data-status"),
    done: Number(ui.progress.getAttribute("value")) || 0,
    total: Number(ui.progress.getAttribute("max")) || 0,
  };
  var socket = null, pollTimer = null, concluded = false;

  function isFinished(status) { return FINISHED.indexOf(status) !== -1; }

  function labelOf(status) { return status === "running" && cancelling ? texts.cancelling : texts[status]; }

  // -- showing a state --------------------------------------------------------

  function render(state) {
    ui.progress.max = Math.max(state.total, 1);
    ui.progress.value = state.total ? state.done : (isFinished(state.status) ? 1 : 0);
    ui.counts.textContent = texts.counts.replace("{done}", numbers.format(state.done))
      .replace("{total}", numbers.format(state.total));
    if (state.status !== current.status) {
      ui.label.textContent = labelOf(state.status);
      ui.label.setAttribute("data-status", state.status);
      Object.keys(BADGE_CLASSES).forEach(function (status) {
        ui.label.classList.toggle(BADGE_CLASSES[status], status === state.status);
      });
      root.setAttribute("data-status", state.status);
      // The live region speaks on a change of status, not on every batch.
      if (!isFinished(state.status)) { ui.message.textContent = labelOf(state.status); }
    }
    current = {status: state.status, done: state.done, total: state.total};
  }

  function onState(state) {
    if (concluded || !state || state.id !== taskId) { return; }
    // A state read when joining may be older than an event that overtook it.
    if (!isFinished(state.status) && state.status === current.status && state.done < current.done) { return; }
    render(state);
    if (isFinished(state.status)) { conclude(); }
  }

  // -- the end ----------------------------------------------------------------

  function conclude() {
    concluded = true;
    stopPolling();
    root.setAttribute("data-connection", "done");
    if (socket) { socket.disconnect(); }
    if (ui.cancel) { ui.cancel.hidden = true; }
    readState().then(function (data) {
      render(data);
      ui.label.textContent = data.label;
      ui.message.textContent = data.message;
      if (data.download_url) {
        ui.download.href = data.download_url;
        ui.download.hidden = false;
      }
      if (data.started_at) { ui.started.textContent = data.started_at; }
      if (data.finished_at) { ui.finished.textContent = data.finished_at; }
    }).catch(function () { /* the page keeps what the socket said; a reload shows the rest */ });
  }

  // -- reading the state without the socket ------------------------------------

  function readState() {
    return fetch(stateUrl, {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      });
  }

  function poll() {
    readState().then(onState).catch(function () { /* try again on the next round */ });
  }

  function startPolling() {
    if (pollTimer === null && !concluded) {
      pollTimer = window.setInterval(poll, POLL_MS);
      root.setAttribute("data-connection", "polling");
    }
  }

  function stopPolling() {
    if (pollTimer !== null) {
      window.clearInterval(pollTimer);
      pollTimer = null;
    }
  }

  // -- the socket ---------------------------------------------------------------

  function connect() {
    socket = window.io(root.getAttribute("data-namespace"), {transports: ["websocket"]});
    socket.on("connect", function () {
      socket.emit("join_task", {id: taskId}, function (reply) {
        if (reply && reply.ok) {
          stopPolling();
          root.setAttribute("data-connection", "socket");
          onState(reply.task);
        } else {
          startPolling();
        }
      });
    });
    socket.on("disconnect", startPolling);
    socket.on("connect_error", startPolling);
    socket.on("task_progress", onState);
  }

  if (isFinished(current.status)) { return; }
  // Ask the server until the socket has joined the room (and whenever it is down):
  // a socket that never opens, through a proxy without WebSockets say, may not say so.
  startPolling();
  if (typeof window.io === "function") { connect(); }
})();
