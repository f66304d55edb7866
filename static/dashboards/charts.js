/*
 * Draw every [data-chart] element with Plotly. The element's data-chart names
 * the <script type="application/json"> holding the figure (Django's json_script),
 * so no inline script is needed under the content security policy.
 * data-chart-static="true" draws a still picture, for print, and
 * data-chart-height overrides the figure's height where space is tight.
 * When every chart is drawn, <body data-charts-ready="true"> tells the PDF
 * printer it may print; a failure is left in <body data-charts-error>.
 */
(function () {
  "use strict";

  function draw(element) {
    element.dataset.chartDrawn = "true";
    try {
      var source = document.getElementById(element.dataset.chart);
      if (!source) {
        throw new Error("no figure named " + element.dataset.chart);
      }
      var figure = JSON.parse(source.textContent);
      var still = element.dataset.chartStatic === "true";
      // Charts speak in the typeface of the page around them.
      figure.layout.font = Object.assign({}, figure.layout.font, {
        family: window.getComputedStyle(element).fontFamily,
      });
      if (element.dataset.chartHeight) {
        figure.layout.height = Number(element.dataset.chartHeight);
      }
      return Promise.resolve(
        window.Plotly.newPlot(element, figure.data, figure.layout, {
          responsive: !still,
          staticPlot: still,
          displayModeBar: false,
          displaylogo: false,
        })
      );
    } catch (error) {
      return Promise.reject(error);
    }
  }

  function drawAll(root) {
    var elements = root.querySelectorAll("[data-chart]:not([data-chart-drawn])");
    return Promise.allSettled(Array.prototype.map.call(elements, draw)).then(
      function (results) {
        results.forEach(function (result) {
          if (result.status === "rejected") {
            console.error("Candor chart:", result.reason);
            document.body.dataset.chartsError = String(result.reason);
          }
        });
        document.body.dataset.chartsReady = "true";
      }
    );
  }

  function start() {
    drawAll(document);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }

  // htmx swaps in fresh chart elements (the dashboard's score section polls
  // while rescoring); draw them once they have settled into the page.
  document.addEventListener("htmx:afterSettle", function () {
    drawAll(document);
  });
  // Release Plotly's resize listeners of charts that htmx removes.
  document.addEventListener("htmx:beforeCleanupElement", function (event) {
    var element = event.target;
    if (element.dataset && element.dataset.chartDrawn && window.Plotly) {
      window.Plotly.purge(element);
    }
  });
})();
