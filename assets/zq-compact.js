// Figures sent compactly (dashboard/compact.py): long arrays come once and are kept here for the page's life;
// later figures name them by key ({"$ref": key}). unpack() rebuilds the whole figure for dcc.Graph and answers
// the keys held, which every drill request carries, so the server sends only what is missing.
(function () {
  const ARRAYS = ['x', 'y', 'customdata', 'text', 'hovertext', 'marker.color'];
  const KEEP = 400;  // arrays kept beyond those of the figure shown: a few counties' worth
  const held = new Map();  // key -> array, in order of last use

  const NULL = -2147483648;  // a gap among quantised numbers
  const NULL16 = -32768;  // a gap among quantised steps
  function bytes(b64) {
    const raw = atob(b64);
    const out = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) { out[i] = raw.charCodeAt(i); }
    return out;
  }
  // An array from its sent form (dashboard/compact.py): as it is; {$q: decimals, $b: base64 int32 LE} or
  // {$q, $o: first, $h: base64 int16 LE steps};
  // {$d: values, $u: base64 uint8/uint16 LE indices, $w: width} or {$d, $i: indices}; {$p: prefix, $j: joined};
  // {$f: each string as the length it shares with the one before (a character, 48 + n) and its rest, joined}.
  function decode(v) {
    if (!v || Array.isArray(v) || typeof v !== 'object') { return v; }
    if (v.$q !== undefined) {
      const scale = Math.pow(10, v.$q);
      if (v.$h !== undefined) {  // steps from the one before, from $o; NULL16 a gap
        const b = bytes(v.$h);
        const view = new DataView(b.buffer);
        const out = new Array(b.length / 2);
        let at = v.$o;
        for (let i = 0; i < out.length; i++) {
          const step = view.getInt16(2 * i, true);
          if (step === NULL16) { out[i] = null; continue; }
          at += step;
          out[i] = v.$q ? at / scale : at;
        }
        return out;
      }
      const b = bytes(v.$b);
      const view = new DataView(b.buffer);
      const out = new Array(b.length / 4);
      for (let i = 0; i < out.length; i++) {
        const n = view.getInt32(4 * i, true);
        out[i] = n === NULL ? null : (v.$q ? n / scale : n);
      }
      return out;
    }
    if (v.$d) {
      if (v.$u !== undefined) {
        const b = bytes(v.$u);
        const view = new DataView(b.buffer);
        const n = b.length / v.$w;
        const out = new Array(n);
        for (let i = 0; i < n; i++) { out[i] = v.$d[v.$w === 1 ? b[i] : view.getUint16(2 * i, true)]; }
        return out;
      }
      return v.$i.map((i) => v.$d[i]);
    }
    if (v.$j !== undefined) { return v.$j.split('|').map((s) => v.$p + s); }
    if (v.$f !== undefined) {
      let prev = '';
      return v.$f.split('|').map((p) => { prev = prev.slice(0, p.charCodeAt(0) - 48) + p.slice(1); return prev; });
    }
    return v;
  }
  function get(trace, attr) {
    return attr === 'marker.color' ? (trace.marker || {}).color : trace[attr];
  }
  function set(trace, attr, value) {
    if (attr === 'marker.color') { trace.marker = Object.assign({}, trace.marker, {color: value}); }
    else { trace[attr] = value; }
  }

  function unpack(packed) {
    const dc = window.dash_clientside;
    if (!packed || !packed.figure) { return [dc.no_update, dc.no_update, dc.no_update]; }
    const sent = Object.entries(packed.chunks || {});
    sent.forEach(([k, v]) => held.set(k, decode(v)));
    window.zqCompact = {sent: sent.length, held: held.size};  // for tests and for a look in the console
    const used = new Set();
    let missing = false;
    const data = (packed.figure.data || []).map((trace) => {
      const out = Object.assign({}, trace);
      ARRAYS.forEach((attr) => {
        const v = get(trace, attr);
        if (v && typeof v === 'object' && !Array.isArray(v) && v.$ref !== undefined) {
          const got = held.get(v.$ref);
          if (got === undefined) { missing = true; set(out, attr, []); return; }
          held.delete(v.$ref); held.set(v.$ref, got);  // most recently used last
          used.add(v.$ref);
          set(out, attr, got);
        }
      });
      return out;
    });
    if (missing) {
      // Lost arrays (should not happen): hold none and forget the figure's hash, so the next redraw sends all.
      held.clear();
      return [Object.assign({}, packed.figure, {data: data}), [], null];
    }
    for (const k of held.keys()) {
      if (held.size <= used.size + KEEP) { break; }
      if (!used.has(k)) { held.delete(k); }
    }
    return [Object.assign({}, packed.figure, {data: data}), Array.from(held.keys()), dc.no_update];
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside);
  window.dash_clientside.zq = Object.assign({}, window.dash_clientside.zq, {unpack: unpack});
})();
