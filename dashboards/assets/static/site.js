/* capstat dashboards: draws every [data-chart] element from the options the
 * page's generated .charts.js file put in window.CAPSTAT_CHARTS.
 * No inline script or style is needed, so pages run under
 * Content-Security-Policy: default-src 'self'. */
(function () {
  'use strict';

  function draw() {
    var options = window.CAPSTAT_CHARTS || {};
    if (typeof window.echarts === 'undefined') {
      return;
    }
    var nodes = document.querySelectorAll('[data-chart]');
    var instances = [];
    for (var i = 0; i < nodes.length; i++) {
      var node = nodes[i];
      var option = options[node.getAttribute('data-chart')];
      if (!option) {
        continue;
      }
      // Data strings (proposal titles…) must never be parsed as HTML:
      // tooltips are drawn as canvas rich text, not DOM.
      option.tooltip = Object.assign({}, option.tooltip || {}, { renderMode: 'richText', confine: true });
      var chart = window.echarts.init(node, null, { renderer: 'canvas', locale: 'EN' });
      chart.setOption(option);
      node.setAttribute('data-chart-ready', 'true');
      instances.push(chart);
    }
    window.addEventListener('resize', function () {
      for (var j = 0; j < instances.length; j++) {
        instances[j].resize();
      }
    });
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', draw);
  } else {
    draw();
  }
})();
