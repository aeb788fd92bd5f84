/* Kernel-free explorer twins (gnc_teach.views.twins): draw the controls of every
 * <div class="gnc-twin"> and show the precomputed plotly state they select. No maths here:
 * every state was computed in Python when the site was built. Needs plotly.js (window.Plotly). */
(function () {
  "use strict";

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function init(root) {
    const spec = JSON.parse(root.querySelector("script.gnc-twin-spec").textContent);
    const idx = spec.initial.slice();
    const bar = el("div", "gnc-twin-controls");
    const plot = el("div", "gnc-twin-plot");
    const info = el("div", "gnc-twin-info");

    spec.controls.forEach(function (c, i) {
      const wrap = el("label", "gnc-twin-control");
      wrap.appendChild(el("span", "gnc-twin-label", c.label + " "));
      let input;
      const readout = el("output", "gnc-twin-readout", c.labels[idx[i]]);
      if (c.kind === "select") {
        input = el("select");
        c.labels.forEach(function (lab, j) {
          const o = el("option", null, lab);
          o.value = String(j);
          input.appendChild(o);
        });
      } else {
        input = el("input");
        input.type = "range";
        input.min = "0";
        input.max = String(c.labels.length - 1);
        input.step = "1";
      }
      input.value = String(idx[i]);
      input.name = c.name;
      input.setAttribute("aria-label", c.label);
      input.addEventListener("input", function () {
        idx[i] = parseInt(input.value, 10);
        readout.textContent = c.labels[idx[i]];
        render();
      });
      wrap.appendChild(input);
      if (c.kind !== "select") wrap.appendChild(readout);
      bar.appendChild(wrap);
    });

    function render() {
      const key = idx.join("|");
      const st = spec.states[key];
      if (!st) {
        info.textContent = "no precomputed state for this choice";
        return;
      }
      const data = st.data.map(function (t) {  // as Twin._trace in twin.py
        if (typeof t === "string") return spec.shared[t];
        if (t._base === undefined) return t;
        const out = Object.assign({}, spec.shared[t._base], t);
        delete out._base;
        return out;
      });
      const layout = Object.assign({}, spec.layout);
      Object.entries(st.layout || {}).forEach(function (kv) {  // one level deep, as merge_layout in twin.py
        const base = spec.layout[kv[0]], v = kv[1];
        const isDict = function (x) { return x && typeof x === "object" && !Array.isArray(x); };
        layout[kv[0]] = isDict(base) && isDict(v) ? Object.assign({}, base, v) : v;
      });
      window.Plotly.react(plot, data, layout, spec.config);
      info.innerHTML = st.html || "";
      root.dataset.state = key;
    }

    root.appendChild(bar);
    root.appendChild(plot);
    root.appendChild(info);
    if (spec.note) root.appendChild(el("div", "gnc-twin-note", spec.note));
    render();
  }

  function initAll() {
    document.querySelectorAll("div.gnc-twin").forEach(function (root) {
      if (root.dataset.ready) return;
      root.dataset.ready = "1";
      try {
        init(root);
      } catch (err) {
        root.appendChild(el("pre", "gnc-twin-error", "explorer twin failed: " + err));
        throw err;
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", initAll);
  } else {
    initAll();
  }
})();
