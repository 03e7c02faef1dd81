/* Draws every [data-chart] element of the page with Apache ECharts: its option is the JSON of the
   element "<id>-option"; a custom series with renderItem "errorbar" draws [x, low, high] intervals.
   Used inline by the HTML report (SVG) and served to the server's pages (<body data-renderer="canvas">). */
(function () {
  "use strict";
  function errorBar(params, api) {
    var x = api.value(0), lo = api.coord([x, api.value(1)]), hi = api.coord([x, api.value(2)]);
    var w = Math.min(24, api.size([1, 0])[0] * 0.3), style = { stroke: "#34495e", lineWidth: 2 };
    return { type: "group", children: [
      { type: "line", shape: { x1: lo[0], y1: lo[1], x2: hi[0], y2: hi[1] }, style: style },
      { type: "line", shape: { x1: lo[0] - w / 2, y1: lo[1], x2: lo[0] + w / 2, y2: lo[1] }, style: style },
      { type: "line", shape: { x1: hi[0] - w / 2, y1: hi[1], x2: hi[0] + w / 2, y2: hi[1] }, style: style }
    ] };
  }
  var charts = [];
  document.querySelectorAll("[data-chart]").forEach(function (el) {
    var option = JSON.parse(document.getElementById(el.id + "-option").textContent);
    (option.series || []).forEach(function (s) { if (s.renderItem === "errorbar") { s.renderItem = errorBar; } });
    var chart = echarts.init(el, null, { renderer: document.body.getAttribute("data-renderer") || "svg" });
    chart.setOption(option);
    charts.push(chart);
  });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
