// Tenantry charts. Every <div class="chart" data-chart="{…}"> that
// components.Chart renders is drawn with uPlot from the JSON in its
// data-chart attribute (days, series, money already in major units).
// Loaded with defer after vendor/uPlot.iife.min.js. Pages put the same
// figures in a table, so without JavaScript only the picture is missing.
(function () {
  "use strict";

  var DAY = 24 * 60 * 60; // uPlot's time scale counts seconds
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  // Integer counts step by 1, 2, 5, 10, 20… so an axis never shows 0.5 orders.
  var COUNT_INCRS = [];
  for (var decade = 1; decade <= 1e12; decade *= 10) {
    COUNT_INCRS.push(decade, 2 * decade, 5 * decade);
  }

  var counts = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });
  var cents = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  var wholes = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

  // Formatting matches components.Int and components.Money on the server.
  function formatCount(v) {
    return v == null ? "—" : counts.format(v);
  }

  // formatMoney shows two decimals, or none on an axis tick that is whole.
  function formatMoney(prefix, v, tick) {
    if (v == null) {
      return "—";
    }
    var f = tick && Math.abs(v - Math.round(v)) < 1e-9 ? wholes : cents;
    return (v < 0 ? "-" : "") + prefix + f.format(Math.abs(v));
  }

  function dayToSeconds(day) {
    var p = day.split("-");
    return Date.UTC(+p[0], +p[1] - 1, +p[2]) / 1000;
  }

  function isoDay(ts) {
    return new Date(ts * 1000).toISOString().slice(0, 10);
  }

  function shortDay(ts) {
    var d = new Date(ts * 1000);
    return MONTHS[d.getUTCMonth()] + " " + d.getUTCDate();
  }

  // The palette lives in app.css (--chart-1, --chart-1-fill…).
  function cssVar(el, name, fallback) {
    var v = getComputedStyle(el).getPropertyValue(name).trim();
    return v || fallback;
  }

  // dayTicks puts a tick on every day, or every 2, 7, 14… days so that
  // labels are at least 70px apart; days are UTC like everything else.
  function dayTicks(u, axisIdx, min, max) {
    var width = u.bbox.width / (window.devicePixelRatio || 1);
    var room = Math.max(1, Math.floor(width / 70));
    var days = Math.round((max - min) / DAY) + 1;
    var steps = [1, 2, 3, 7, 14, 28, 56, 91, 182, 364];
    var step = steps[steps.length - 1];
    for (var i = 0; i < steps.length; i++) {
      if (days / steps[i] <= room) {
        step = steps[i];
        break;
      }
    }
    var first = Math.ceil(min / DAY) * DAY;
    var ticks = [];
    for (var t = first; t <= max; t += step * DAY) {
      ticks.push(t);
    }
    return ticks;
  }

  // yRange starts counts and money at zero and rounds the top up.
  function yRange(u, min, max) {
    if (max == null || max <= 0) {
      return [Math.min(0, min || 0), 1];
    }
    var r = uPlot.rangeNum(Math.min(0, min), max, 0.1, true);
    return [Math.min(0, r[0]), r[1]];
  }

  // xRange centres a single day: uPlot would stretch it over years.
  function xRange(u, min, max) {
    var xs = u.data[0];
    if (xs.length === 1) {
      return [xs[0] - DAY, xs[0] + DAY];
    }
    return [min, max];
  }

  // axisSize makes room for the widest tick label.
  function axisSize(u, values, axisIdx, cycleNum) {
    var axis = u.axes[axisIdx];
    if (cycleNum > 1) {
      return axis._size;
    }
    var size = axis.ticks.size + axis.gap;
    var longest = (values || []).reduce(function (a, v) {
      return v.length > a.length ? v : a;
    }, "");
    if (longest !== "") {
      u.ctx.font = axis.font[0];
      size += u.ctx.measureText(longest).width / (window.devicePixelRatio || 1);
    }
    if (axis.label != null) {
      size += axis.labelSize;
    }
    return Math.ceil(size);
  }

  function options(spec, el, width) {
    var text = cssVar(el, "--chart-text", "#667085");
    var grid = cssVar(el, "--chart-grid", "#e4e7ec");
    var font = "12px " + getComputedStyle(el).fontFamily;
    var format = function (money) {
      return function (v, tick) {
        return money ? formatMoney(spec.prefix, v, tick) : formatCount(v);
      };
    };

    // One y axis per unit: the first unit left, the second right.
    var units = [];
    spec.series.forEach(function (s) {
      var unit = s.money ? "money" : "count";
      if (units.indexOf(unit) < 0) {
        units.push(unit);
      }
    });

    var axes = [{
      stroke: text,
      font: font,
      grid: { stroke: grid, width: 1 },
      ticks: { show: false },
      splits: dayTicks,
      values: function (u, splits) {
        return splits.map(shortDay);
      },
    }];
    units.forEach(function (unit, i) {
      var fmt = format(unit === "money");
      var axis = {
        scale: unit,
        side: i === 0 ? 3 : 1,
        stroke: text,
        font: font,
        grid: { show: i === 0, stroke: grid, width: 1 },
        ticks: { show: false },
        size: axisSize,
        values: function (u, splits) {
          return splits.map(function (v) {
            return fmt(v, true);
          });
        },
      };
      if (unit === "count") {
        axis.incrs = COUNT_INCRS;
      }
      if (units.length > 1) {
        // Two axes: say which is which.
        axis.label = spec.series.filter(function (s) {
          return (s.money ? "money" : "count") === unit;
        }).map(function (s) { return s.label; }).join(", ");
        axis.labelFont = font;
        axis.labelSize = 18;
      }
      axes.push(axis);
    });

    var scales = { x: { time: true, range: xRange } };
    units.forEach(function (unit) {
      scales[unit] = { range: yRange };
    });

    var series = [{ label: "Day", value: function (u, ts) { return ts == null ? "—" : isoDay(ts); } }];
    spec.series.forEach(function (s, i) {
      var n = (i % 3) + 1;
      var fmt = format(s.money);
      series.push({
        label: s.label,
        scale: s.money ? "money" : "count",
        stroke: cssVar(el, "--chart-" + n, "#4f46e5"),
        fill: i === 0 ? cssVar(el, "--chart-" + n + "-fill", "rgba(79, 70, 229, 0.08)") : undefined,
        width: 2,
        value: function (u, v) { return fmt(v, false); },
      });
    });

    return {
      width: width,
      height: spec.height,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"); },
      scales: scales,
      axes: axes,
      series: series,
      legend: { live: false },
      cursor: { y: false, drag: { x: false, y: false, setScale: false }, points: { size: 7 } },
      hooks: tooltipHooks(),
    };
  }

  var percents = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1, signDisplay: "exceptZero" });

  // formatPercent matches components.Change: "+12.3%", "−4%".
  function formatPercent(v) {
    return v == null ? "—" : percents.format(v).replace("-", "\u2212") + "%";
  }

  // barOptions draw a ranking: one horizontal bar per label, the first on
  // top, the labels on the left and the values along the bottom.
  function barOptions(spec, el, width) {
    var text = cssVar(el, "--chart-text", "#667085");
    var grid = cssVar(el, "--chart-grid", "#e4e7ec");
    var color = cssVar(el, "--chart-1", "#4f46e5");
    var font = "12px " + getComputedStyle(el).fontFamily;
    var s = spec.series[0];
    var fmt = function (v, tick) {
      if (s.percent) {
        return formatPercent(v);
      }
      return s.money ? formatMoney(spec.prefix, v, tick) : formatCount(v);
    };
    var n = spec.x.length;
    var value = {
      scale: "v",
      side: 2,
      stroke: text,
      font: font,
      size: 28,
      space: 90, // money labels such as "$18,000" never touch
      grid: { stroke: grid, width: 1 },
      ticks: { show: false },
      values: function (u, splits) {
        return splits.map(function (v) { return fmt(v, true); });
      },
    };
    if (!s.money && !s.percent) {
      value.incrs = COUNT_INCRS;
    }
    return {
      width: width,
      height: spec.height,
      scales: {
        x: { time: false, ori: 1, dir: -1, range: function () { return [-0.5, n - 0.5]; } },
        v: { ori: 0, dir: 1, range: yRange },
      },
      axes: [{
        scale: "x",
        side: 3,
        stroke: text,
        font: font,
        grid: { show: false },
        ticks: { show: false },
        size: axisSize,
        splits: function () {
          return spec.x.map(function (_, i) { return i; });
        },
        values: function (u, splits) {
          return splits.map(function (i) { return spec.x[i] == null ? "" : spec.x[i]; });
        },
      }, value],
      series: [{ label: "Store" }, {
        label: s.label,
        scale: "v",
        stroke: color,
        fill: color,
        width: 0,
        paths: uPlot.paths.bars({ size: [0.65, 24], radius: 0.15 }),
        points: { show: false },
        value: function (u, v) { return fmt(v, false); },
      }],
      legend: { show: false },
      cursor: { x: false, y: false, drag: { x: false, y: false, setScale: false }, points: { show: false } },
      hooks: barTooltipHooks(spec, fmt),
    };
  }

  // barTooltipHooks show the hovered bar's label and value beside the
  // cursor.
  function barTooltipHooks(spec, fmt) {
    var tip;
    return {
      init: [function (u) {
        tip = document.createElement("div");
        tip.className = "chart-tooltip";
        tip.setAttribute("aria-hidden", "true");
        u.over.appendChild(tip);
        u.over.addEventListener("mouseleave", function () { tip.classList.remove("visible"); });
      }],
      setCursor: [function (u) {
        var idx = u.cursor.idx;
        if (idx == null || u.cursor.top == null || u.cursor.top < 0) {
          tip.classList.remove("visible");
          return;
        }
        var v = u.data[1][idx];
        tip.replaceChildren(row("chart-tooltip-day", null, spec.x[idx]),
          row("chart-tooltip-row", u.series[1].stroke(u, 1), spec.series[0].label + ": " + (v == null ? "no comparison" : fmt(v, false))));
        tip.classList.add("visible");
        var left = u.cursor.left + 14;
        if (left + tip.offsetWidth > u.over.clientWidth) {
          left = Math.max(0, u.cursor.left - tip.offsetWidth - 14);
        }
        tip.style.transform = "translate(" + Math.round(left) + "px, " + Math.round(u.cursor.top + 8) + "px)";
      }],
    };
  }

  // tooltipHooks show the hovered day and every series' value in a box that
  // follows the cursor, flipping to the left near the right edge.
  function tooltipHooks() {
    var tip;
    function hide() {
      tip.classList.remove("visible");
    }
    return {
      init: [function (u) {
        tip = document.createElement("div");
        tip.className = "chart-tooltip";
        tip.setAttribute("aria-hidden", "true");
        u.over.appendChild(tip);
        u.over.addEventListener("mouseleave", hide);
      }],
      setCursor: [function (u) {
        var idx = u.cursor.idx;
        if (idx == null) {
          hide();
          return;
        }
        var rows = [row("chart-tooltip-day", null, isoDay(u.data[0][idx]))];
        for (var i = 1; i < u.series.length; i++) {
          var s = u.series[i];
          if (s.show) {
            rows.push(row("chart-tooltip-row", s.stroke(u, i), s.label + ": " + s.value(u, u.data[i][idx])));
          }
        }
        tip.replaceChildren.apply(tip, rows);
        tip.classList.add("visible");
        var x = u.valToPos(u.data[0][idx], "x");
        var left = x + 14;
        if (left + tip.offsetWidth > u.over.clientWidth) {
          left = Math.max(0, x - tip.offsetWidth - 14);
        }
        tip.style.transform = "translate(" + Math.round(left) + "px, 8px)";
      }],
    };
  }

  // row is one line of the tooltip; color, if any, is its series' mark.
  function row(className, color, text) {
    var div = document.createElement("div");
    div.className = className;
    if (color) {
      var mark = document.createElement("span");
      mark.className = "chart-tooltip-mark";
      mark.style.backgroundColor = color;
      div.appendChild(mark);
    }
    div.appendChild(document.createTextNode(text));
    return div;
  }

  // Charts follow their container's width. A chart whose container left the
  // page (an htmx swap) is destroyed when the observer sees it gone.
  var resizer = typeof ResizeObserver === "function" ? new ResizeObserver(function (entries) {
    entries.forEach(function (entry) {
      var el = entry.target;
      var u = el.uplot;
      if (!u) {
        return;
      }
      if (!el.isConnected) {
        resizer.unobserve(el);
        u.destroy();
        el.uplot = null;
        return;
      }
      var width = Math.floor(el.clientWidth);
      if (width > 0 && width !== u.width) {
        u.setSize({ width: width, height: u.height });
      }
    });
  }) : null;

  function draw(el) {
    if (el.uplot || typeof uPlot !== "function") {
      return;
    }
    var spec;
    try {
      spec = JSON.parse(el.getAttribute("data-chart"));
    } catch (e) {
      return;
    }
    if (!spec.x || spec.x.length === 0 || !spec.series || spec.series.length === 0) {
      return;
    }
    var data = [spec.bars ? spec.x.map(function (_, i) { return i; }) : spec.x.map(dayToSeconds)];
    spec.series.forEach(function (s) {
      data.push(s.values);
    });
    el.replaceChildren();
    var make = spec.bars ? barOptions : options;
    el.uplot = new uPlot(make(spec, el, Math.max(el.clientWidth, 200)), data, el);
    el.classList.add("chart-drawn");
    if (resizer) {
      resizer.observe(el);
    }
  }

  function drawAll(root) {
    if (!root || !root.querySelectorAll) {
      return;
    }
    if (root.matches && root.matches(".chart[data-chart]")) {
      draw(root);
    }
    root.querySelectorAll(".chart[data-chart]").forEach(draw);
  }

  // After an htmx swap, look at the whole page: an outerHTML swap fires
  // the event on the element it replaced, which is no longer in it.
  document.addEventListener("htmx:afterSettle", function () {
    drawAll(document);
  });
  document.addEventListener("htmx:load", function (evt) {
    drawAll(evt.target);
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      drawAll(document);
    });
  } else {
    drawAll(document);
  }
})();
