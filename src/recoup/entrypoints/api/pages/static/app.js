// Recoup pages: SLA countdowns that tick, "select all" for bulk actions, and the charts.
// Everything works without this script; it only keeps the countdowns fresh and draws charts.
(function () {
  "use strict";
  var body = document.body;
  var serverNow = Date.parse(body.getAttribute("data-now") || "");
  var skew = isNaN(serverNow) ? 0 : serverNow - Date.now();

  function span(seconds) {
    var s = Math.floor(Math.abs(seconds));
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    if (d) return d + "d " + h + "h";
    if (h) return h + "h " + m + "m";
    if (m) return m + "m";
    return (s % 60) + "s";
  }

  function tick() {
    var now = Date.now() + skew;
    document.querySelectorAll("[data-due]").forEach(function (el) {
      var due = Date.parse(el.getAttribute("data-due"));
      if (isNaN(due)) return;
      var left = (due - now) / 1000;
      el.textContent = left >= 0 ? "due in " + span(left) : "overdue by " + span(left);
      el.classList.toggle("overdue", left < 0);
      el.classList.toggle("soon", left >= 0 && left < 3600);
    });
  }

  function selectAll(event) {
    var box = event.target;
    if (!box.matches("[data-select-all]")) return;
    document.querySelectorAll("input[name=case_id]").forEach(function (c) { c.checked = box.checked; });
  }

  function charts(root) {
    if (!window.Chartist) return;
    (root || document).querySelectorAll("[data-chart]").forEach(function (el) {
      if (el.getAttribute("data-drawn")) return;
      var spec = JSON.parse(el.getAttribute("data-chart"));
      var data = { labels: spec.labels, series: spec.series };
      var options = { height: "220px", chartPadding: { right: 20 } };
      if (spec.kind === "line") {
        new Chartist.LineChart(el, data, Object.assign(options, { showArea: true }));
      } else {
        new Chartist.BarChart(el, data, Object.assign(options, { horizontalBars: spec.horizontal === true,
          axisY: { offset: spec.horizontal ? 140 : 40 } }));
      }
      el.setAttribute("data-drawn", "1");
    });
  }

  document.addEventListener("change", selectAll);
  document.addEventListener("DOMContentLoaded", function () { tick(); charts(); });
  document.addEventListener("htmx:afterSettle", function (event) {
    var now = event.detail && event.detail.xhr && event.detail.xhr.getResponseHeader("X-Server-Now");
    if (now) { skew = Date.parse(now) - Date.now(); }
    tick(); charts(event.target);
  });
  setInterval(tick, 15000);
  tick();
})();
