/* The grading service's pages, live: an attempt's place in the queue and progress, a
   student's list of attempts, the instructor's queue. Polls the JSON API with the page's
   own session cookie; without JavaScript the pages refresh themselves (noscript). */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function getJSON(url) {
    return fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .catch(function () { return null; });
  }

  function every(ms, step) {
    function tick() {
      step().then(function (again) { if (again !== false) { setTimeout(tick, ms); } });
    }
    setTimeout(tick, ms);
  }

  var live = document.getElementById("live");
  if (live) {
    var job = live.getAttribute("data-job");
    var typical = parseFloat(live.getAttribute("data-typical")) || 30;
    var text = document.getElementById("job-state");
    var bar = document.getElementById("job-progress");
    every(1000, function () {
      return getJSON("/api/v1/jobs/" + encodeURIComponent(job)).then(function (s) {
        if (!s) { return true; }
        if (s.state === "done" || s.state === "error") { window.location.reload(); return false; }
        if (s.state === "queued") {
          text.textContent = "Queued: position " + s.position + " in the queue.";
          bar.value = 0;
        } else {
          var run = s.running_seconds || 0;
          text.textContent = "Grading: running for " + Math.round(run) + " s (usually about " +
            Math.round(s.typical_seconds || typical) + " s).";
          bar.value = Math.min(0.95, run / (s.typical_seconds || typical));
        }
        return true;
      });
    });
  }

  var watched = document.querySelector("[data-watch-jobs]");
  if (watched) {
    var jobs = watched.getAttribute("data-watch-jobs").trim().split(/\s+/);
    every(2000, function () {
      return Promise.all(jobs.map(function (id) { return getJSON("/api/v1/jobs/" + id); }))
        .then(function (all) {
          var finished = all.some(function (s) { return s && (s.state === "done" || s.state === "error"); });
          if (finished) { window.location.reload(); return false; }
          all.forEach(function (s) {
            if (!s) { return; }
            var badge = document.querySelector('[data-job="' + s.job + '"]');
            if (badge && s.state === "queued") { badge.textContent = "queued, position " + s.position; }
            if (badge && s.state === "running") { badge.textContent = "grading… " + Math.round(s.running_seconds || 0) + " s"; }
          });
          return true;
        });
    });
  }

  var dash = document.querySelector("[data-status-url]");
  if (dash) {
    var url = dash.getAttribute("data-status-url");
    var seen = null;
    every(5000, function () {
      return getJSON(url).then(function (c) {
        if (!c) { return true; }
        ["queued", "running", "done", "error"].forEach(function (k) {
          var el = document.getElementById("count-" + k);
          if (el) { el.textContent = c[k]; }
        });
        var finished = c.done + c.error;
        if (seen !== null && finished !== seen) { window.location.reload(); return false; }
        seen = finished;
        return true;
      });
    });
  }
}());
