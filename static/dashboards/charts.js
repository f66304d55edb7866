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
      if (!still) {
        // The container keeps the figure's height and Plotly fills it, so a
        // resize only ever changes the width: a chart that kept its old size
        // would spill over the headings and tables around it.
        element.style.height = (figure.layout.height || 320) + "px";
        delete figure.layout.height;
        delete figure.layout.width;
        figure.layout.autosize = true;
      }
      return Promise.resolve(
        window.Plotly.newPlot(element, figure.data, figure.layout, {
          responsive: !still,
          staticPlot: still,
          displayModeBar: false,
          displaylogo: false,
        })
      ).then(function () {
        if (!still) {
          watchSize(element);
        }
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  // Plotly's own responsive mode follows the window only; a container that
  // changes width for another reason (the grid going to one column, a
  // scrollbar appearing) is followed here.
  var observer =
    "ResizeObserver" in window
      ? new ResizeObserver(function (entries) {
          entries.forEach(function (entry) {
            var element = entry.target;
            if (element._candorWidth === entry.contentRect.width) {
              return;
            }
            element._candorWidth = entry.contentRect.width;
            window.cancelAnimationFrame(element._candorResize || 0);
            element._candorResize = window.requestAnimationFrame(function () {
              if (document.body.contains(element)) {
                window.Plotly.Plots.resize(element);
              }
            });
          });
        })
      : null;

  function watchSize(element) {
    if (observer) {
      element._candorWidth = element.getBoundingClientRect().width;
      observer.observe(element);
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
      if (observer) {
        observer.unobserve(element);
      }
      window.Plotly.purge(element);
    }
  });
})();
