/* capstat dashboards: draws every [data-chart] element from the options the
 * page's generated .charts.js file put in window.CAPSTAT_CHARTS.
 * No inline script or style is needed, so pages run under
 * Content-Security-Policy: default-src 'self'. */
(function () {
  'use strict';

  // Numbers the French way on value axes and in tooltips: 12 345,6
  // (echarts' own default is 12,345.6). Below 1, three significant digits,
  // so that small rates (0,0025) keep their value and two axis ticks never
  // read the same.
  var frenchNumbers = new Intl.NumberFormat('fr-FR', { maximumFractionDigits: 2 });
  var frenchSmall = new Intl.NumberFormat('fr-FR', { maximumSignificantDigits: 3 });
  function frNumber(v) {
    if (typeof v !== 'number') {
      return v;
    }
    return Math.abs(v) < 1 ? frenchSmall.format(v) : frenchNumbers.format(v);
  }
  function frenchAxes(axes, defaultType) {
    var list = Array.isArray(axes) ? axes : (axes ? [axes] : []);
    for (var i = 0; i < list.length; i++) {
      var a = list[i];
      if ((a.type || defaultType) === 'value' && !(a.axisLabel && a.axisLabel.formatter)) {
        a.axisLabel = Object.assign({}, a.axisLabel || {}, { formatter: frNumber });
      }
    }
  }

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
      option.tooltip = Object.assign({ valueFormatter: frNumber }, option.tooltip || {}, { renderMode: 'richText', confine: true });
      frenchAxes(option.xAxis, 'category');
      frenchAxes(option.yAxis, 'value');
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

  // A site opened from disk (file://) has no daemon: downloads point at the
  // release folder beside the site, and what needs the server is hidden.
  function offline() {
    if (window.location.protocol !== 'file:') {
      return;
    }
    var links = document.querySelectorAll('a[data-file-href]');
    for (var i = 0; i < links.length; i++) {
      links[i].setAttribute('href', links[i].getAttribute('data-file-href'));
    }
    var server = document.querySelectorAll('.needs-server');
    for (var j = 0; j < server.length; j++) {
      server[j].hidden = true;
    }
  }

  function start() {
    offline();
    draw();
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
