// Draws every chart from the JSON in #chart-specs with the bundled plotly.js (no network).
(function () {
  "use strict";
  var specs = JSON.parse(document.getElementById("chart-specs").textContent);
  var config = { displayModeBar: false, responsive: true };
  var drawn = Object.keys(specs).map(function (id) {
    return Plotly.newPlot(document.getElementById(id), specs[id].data, specs[id].layout, config);
  });
  window.reportCharts = Promise.all(drawn).then(function () { return drawn.length; });
  document.getElementById("area-select").addEventListener("change", function (e) {
    window.location.href = e.target.value;
  });
  // Printing from a browser: redraw at the paper's width.
  window.addEventListener("beforeprint", function () {
    Object.keys(specs).forEach(function (id) { Plotly.Plots.resize(document.getElementById(id)); });
  });
})();
