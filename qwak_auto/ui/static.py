"""The dashboard's one script: it refreshes each deployment's traffic (requests, 5xx share,
p99, requests per minute) from /api/traffic.json every 10 s, without reloading the page.
Served from /static/dashboard.js (the Content-Security-Policy allows scripts from the
dashboard itself only). ``document.body`` carries ``data-traffic-refreshes``, the number of
refreshes so far, and each row it rewrote ``data-refreshed``, the refresh that did (the
browser tests read them)."""

from __future__ import annotations

SCRIPT = r"""(function () {
  "use strict";
  var INTERVAL = 10000, WIDTH = 120, HEIGHT = 28;
  var refreshes = 0;

  function percent(x) { return x === null ? "\u2014" : (x * 100).toFixed(1) + " %"; }
  function millis(x) { return x === null ? "\u2014" : Math.round(x) + " ms"; }
  function points(values) {
    var top = Math.max.apply(null, values.concat([0])) || 1;
    var step = WIDTH / Math.max(1, values.length - 1);
    return values.map(function (v, i) {
      return (i * step).toFixed(1) + "," + (HEIGHT - 2 - (HEIGHT - 4) * v / top).toFixed(1);
    }).join(" ");
  }
  function set(row, selector, text) {
    var cell = row.querySelector(selector);
    if (cell) { cell.textContent = text; }
  }
  function update(data) {
    refreshes += 1;
    data.deployments.forEach(function (d) {
      var rows = document.querySelectorAll("tr[data-deployment]");
      Array.prototype.forEach.call(rows, function (row) {
        if (row.getAttribute("data-deployment") !== d.deployment_id) { return; }
        set(row, ".requests", d.requests === null ? "\u2014" : String(d.requests));
        set(row, ".errors", percent(d.error_share));
        set(row, ".p99", millis(d.p99_ms));
        set(row, ".traffic-state", d.state === "ok" ? "" : d.state);
        var line = row.querySelector(".spark polyline");
        if (line && d.per_minute) { line.setAttribute("points", points(d.per_minute)); }
        row.setAttribute("data-refreshed", String(refreshes));
      });
    });
    document.body.setAttribute("data-traffic-refreshes", String(refreshes));
    var stamp = document.getElementById("traffic-updated");
    if (stamp) { stamp.textContent = "(last " + new Date().toLocaleTimeString() + ")"; }
  }
  function refresh() {
    fetch("/api/traffic.json", {cache: "no-store"})
      .then(function (response) { return response.json(); })
      .then(update)
      .catch(function (error) {
        var stamp = document.getElementById("traffic-updated");
        if (stamp) { stamp.textContent = "(refresh failed: " + error + ")"; }
      });
  }
  refresh();
  setInterval(refresh, INTERVAL);
})();
"""
