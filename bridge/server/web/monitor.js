/* The facebridge browser monitor: one card per avatar, drawn from the daemon's own protocol
 * bytes (docs/protocol.md, "Browser monitor"). Plain script, no build step, no network
 * beyond this page's own server. Needs msgpack.js first.
 *
 * Test hooks (read-only for tests and curious users): window.facebridgeMonitor.
 */
(function () {
  "use strict";

  var mp = window.facebridgeMsgpack;
  var utf8 = new TextDecoder("utf-8");
  var LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
  var BLOB_LENGTH = { blendshapes: 52, head_pose: 6, landmarks: 478 * 3 };
  var DEFAULT_NAMES = []; // filled from welcome.schema.blendshape_names
  var BG = "#0b0f14";

  var hooks = {
    connected: false,
    welcome: null,
    stats: null,
    messages: 0,
    decodeErrors: 0,
    lastError: null,
    reconnects: 0,
    dropped: 0, // messages the monitor dropped for this page (it read too slowly)
    monitorStats: null, // the monitor's own: {pages, dropped, dropped_all, queued_bytes}
    clockOffsetMs: null, // page clock - daemon clock, from stats t_ns (minimum over recent samples)
    framesReceived: {},
    jpegReceived: {},
    lastBlendshapes: {},
    lastHeadPose: {},
    lastHeader: {},
    maxJawOpen: {},
    minJawOpen: {},
    latencyMs: {},
    fps: {},
    meshDraws: {},
    topology: null,
    decode: mp.decode,
    splitParts: mp.splitParts,
  };
  window.facebridgeMonitor = hooks;

  var names = DEFAULT_NAMES;
  var jawIndex = -1;
  var cards = {}; // avatar -> card state
  var topology = null; // {edges: Uint16Array, contours: [[color, Uint16Array]...]}
  var offsetSamples = [];
  var dirty = false;

  // ------------------------------------------------------------------ helpers
  function now() { return performance.timeOrigin + performance.now(); }

  function floats(part, n) {
    if (part.byteLength !== 4 * n) throw new Error("blob of " + part.byteLength + " bytes, expected " + 4 * n);
    if (LITTLE_ENDIAN) return new Float32Array(part.slice().buffer); // slice: an aligned copy
    var dv = new DataView(part.buffer, part.byteOffset, part.byteLength), out = new Float32Array(n);
    for (var i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, true);
    return out;
  }

  function fmt(x, digits) { return (x >= 0 ? "+" : "") + x.toFixed(digits); }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // ------------------------------------------------------------------ topology
  function loadTopology() {
    if (topology) return;
    fetch("facemesh.json", { cache: "no-cache" }).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    }).then(function (t) {
      var colors = { lips: "#ff6b8b", left_eye: "#5fd7ff", right_eye: "#5fd7ff", left_eyebrow: "#e8d28a",
                     right_eyebrow: "#e8d28a", face_oval: "#7f9cc8", left_iris: "#ffffff", right_iris: "#ffffff" };
      topology = { edges: Uint16Array.from([].concat.apply([], t.tesselation)), contours: [] };
      Object.keys(t.contours).forEach(function (k) {
        topology.contours.push([colors[k] || "#cccccc", Uint16Array.from([].concat.apply([], t.contours[k]))]);
      });
      hooks.topology = { edges: t.tesselation.length, contours: Object.keys(t.contours) };
      Object.keys(cards).forEach(function (a) { cards[a].dirty = true; });
      dirty = true;
    }).catch(function (e) {
      hooks.lastError = "facemesh.json: " + e; // the mesh is drawn as points meanwhile
    });
  }

  // ------------------------------------------------------------------ cards
  function card(avatar) {
    var c = cards[avatar];
    if (c) return c;
    var node = document.getElementById("card-template").content.firstElementChild.cloneNode(true);
    node.dataset.avatar = avatar;
    node.querySelector(".name").textContent = avatar;
    var bars = node.querySelector(".bars"), rows = [];
    names.forEach(function (name, i) {
      var row = el("div", "bar"), fill = el("span", "fill"), track = el("span", "track");
      row.title = name;
      track.appendChild(fill);
      var val = el("span", "val", "0.00");
      row.appendChild(el("span", "bname", name));
      row.appendChild(track);
      row.appendChild(val);
      bars.appendChild(row);
      rows.push({ row: row, fill: fill, val: val, last: -1 });
    });
    var main = document.getElementById("cards");
    main.appendChild(node);
    document.getElementById("empty").hidden = true;
    c = cards[avatar] = {
      avatar: avatar, node: node, rows: rows,
      mesh: node.querySelector("canvas.mesh"), video: node.querySelector("canvas.video"),
      videoView: node.querySelector(".video-view"), videoCaption: node.querySelector(".video-caption"),
      pose: node.querySelectorAll(".pose tbody td"), mode: node.querySelector(".mode"),
      emotion: node.querySelector(".emotion"), utt: node.querySelector(".utt"), live: node.querySelector(".live"),
      imageSize: null, info: null, header: null, blendshapes: null, headPose: null, landmarks: null,
      arrivals: [], latencies: [], decoding: false, pendingJpeg: null, dirty: true, zoom: false, zoomBox: null,
    };
    var caption = node.querySelector(".mesh-caption");
    c.mesh.addEventListener("click", function () {
      c.zoom = !c.zoom;
      c.zoomBox = null;
      c.dirty = true;
      caption.textContent = c.zoom ? "FaceMesh, zoomed to the face (click: whole image)" :
        "FaceMesh on the whole image (click: zoom)";
    });
    return c;
  }

  function removeCard(avatar) {
    var c = cards[avatar];
    if (!c) return;
    c.node.remove();
    delete cards[avatar];
    document.getElementById("empty").hidden = Object.keys(cards).length > 0;
  }

  function clearCards() { Object.keys(cards).forEach(removeCard); }

  // ------------------------------------------------------------------ messages
  function onMessage(data, received) {
    hooks.messages++;
    var parts = mp.splitParts(new Uint8Array(data));
    if (parts.length < 2) throw new Error("a message has a topic and a header; got " + parts.length + " parts");
    var topic = utf8.decode(parts[0]);
    var dot = topic.indexOf(".");
    var kind = dot < 0 ? topic : topic.slice(0, dot), avatar = dot < 0 ? "" : topic.slice(dot + 1);
    var header = mp.decode(parts[1]);
    if (kind === "anim") return onFrame(avatar, header, parts.slice(2), received);
    if (kind === "jpeg") return onJpeg(avatar, header, parts[2]);
    if (kind === "stats") return onStats(header, received);
    if (kind === "welcome") return onWelcome(header);
    // Unknown kinds are for newer monitors: ignored.
  }

  function onWelcome(w) {
    hooks.welcome = w;
    names = (w.schema && w.schema.blendshape_names) || DEFAULT_NAMES;
    jawIndex = names.indexOf("jawOpen");
    clearCards(); // a new daemon (or the same one): its stats list the avatars
    offsetSamples = [];
    backoff = 0;
    setConn(true, w.server || "connected");
  }

  function onStats(msg, received) {
    hooks.stats = msg.stats;
    if (msg.monitor) {
      hooks.monitorStats = msg.monitor;
      hooks.dropped = msg.monitor.dropped || 0;
    }
    if (typeof msg.t_ns === "number") {
      offsetSamples.push(received - msg.t_ns / 1e6);
      if (offsetSamples.length > 30) offsetSamples.shift();
      hooks.clockOffsetMs = Math.min.apply(null, offsetSamples);
    }
    var avatars = msg.stats && msg.stats.avatars;
    if (avatars && typeof avatars === "object") {
      Object.keys(avatars).forEach(function (a) {
        var c = card(a), info = avatars[a];
        c.info = info;
        if (info && info.image_size) c.imageSize = info.image_size;
        c.dirty = true;
      });
      Object.keys(cards).forEach(function (a) { if (!(a in avatars)) removeCard(a); });
    }
    renderServer(msg);
    dirty = true;
  }

  function onFrame(avatar, h, blobs, received) {
    var order = h.blobs;
    if (!Array.isArray(order) || order.length !== blobs.length) throw new Error("header.blobs does not match the blobs");
    var got = {};
    order.forEach(function (name, i) {
      if (!(name in BLOB_LENGTH)) throw new Error("unknown blob " + name);
      got[name] = floats(blobs[i], BLOB_LENGTH[name]);
    });
    if (!got.blendshapes || !got.head_pose) throw new Error("a frame needs blendshapes and head_pose");
    var c = card(avatar);
    c.header = h;
    c.blendshapes = got.blendshapes;
    c.headPose = got.head_pose;
    if (got.landmarks) c.landmarks = got.landmarks;
    c.arrivals.push(received);
    if (c.arrivals.length > 256) c.arrivals.splice(0, c.arrivals.length - 256);
    if (hooks.clockOffsetMs !== null && typeof h.t_ns === "number") {
      c.latencies.push(received - h.t_ns / 1e6 - hooks.clockOffsetMs);
      if (c.latencies.length > 60) c.latencies.shift();
    }
    c.dirty = true;
    dirty = true;
    hooks.framesReceived[avatar] = (hooks.framesReceived[avatar] || 0) + 1;
    hooks.lastBlendshapes[avatar] = got.blendshapes;
    hooks.lastHeadPose[avatar] = got.head_pose;
    hooks.lastHeader[avatar] = h;
    if (jawIndex >= 0) {
      var j = got.blendshapes[jawIndex];
      hooks.maxJawOpen[avatar] = Math.max(j, avatar in hooks.maxJawOpen ? hooks.maxJawOpen[avatar] : -Infinity);
      hooks.minJawOpen[avatar] = Math.min(j, avatar in hooks.minJawOpen ? hooks.minJawOpen[avatar] : Infinity);
    }
  }

  function onJpeg(avatar, h, jpeg) {
    if (!jpeg || h.format !== "jpeg") throw new Error("a jpeg message needs a jpeg blob");
    hooks.jpegReceived[avatar] = (hooks.jpegReceived[avatar] || 0) + 1;
    var c = card(avatar);
    c.pendingJpeg = { header: h, blob: new Blob([jpeg], { type: "image/jpeg" }) };
    decodeJpeg(c);
  }

  function decodeJpeg(c) {
    if (c.decoding || !c.pendingJpeg) return;
    var job = c.pendingJpeg;
    c.pendingJpeg = null;
    c.decoding = true;
    createImageBitmap(job.blob).then(function (bmp) {
      if (c.video.width !== bmp.width || c.video.height !== bmp.height) {
        c.video.width = bmp.width;
        c.video.height = bmp.height;
      }
      c.video.getContext("2d").drawImage(bmp, 0, 0);
      c.videoView.hidden = false;
      c.videoCaption.textContent = "video " + bmp.width + "×" + bmp.height + " (JPEG), pts " +
        job.header.pts.toFixed(2) + " s";
      bmp.close();
    }).catch(function (e) {
      hooks.decodeErrors++;
      hooks.lastError = "jpeg: " + e;
    }).then(function () {
      c.decoding = false;
      decodeJpeg(c); // a newer frame that came meanwhile
    });
  }

  // ------------------------------------------------------------------ drawing
  function renderServer(msg) {
    var s = msg.stats || {}, dl = document.getElementById("server");
    var items = [
      ["daemon", hooks.welcome ? hooks.welcome.server : "–"],
      ["uptime", s.uptime_s !== undefined ? Math.round(s.uptime_s) + " s" : "–"],
      ["avatars", s.sessions !== undefined ? s.sessions : "–"],
      ["clients", s.clients !== undefined ? s.clients : "–"],
      ["frames sent", s.frames_sent !== undefined ? s.frames_sent : "–"],
      ["lateness p50/p99", s.frame_lateness_ms ? s.frame_lateness_ms.p50 + " / " + s.frame_lateness_ms.p99 + " ms" : "–"],
      ["clock offset", hooks.clockOffsetMs !== null ? hooks.clockOffsetMs.toFixed(1) + " ms" : "–"],
      ["dropped here", hooks.dropped],
    ];
    dl.textContent = "";
    items.forEach(function (kv) {
      var d = el("div");
      d.appendChild(el("dt", "", kv[0]));
      d.appendChild(el("dd", "", String(kv[1])));
      dl.appendChild(d);
    });
  }

  /** [x0, y0, side]: a square around the landmarks, `margin` times their larger extent. */
  function faceBox(p, margin) {
    var minx = Infinity, miny = Infinity, maxx = -Infinity, maxy = -Infinity;
    for (var i = 0; i < p.length; i += 3) {
      minx = Math.min(minx, p[i]); maxx = Math.max(maxx, p[i]);
      miny = Math.min(miny, p[i + 1]); maxy = Math.max(maxy, p[i + 1]);
    }
    var side = margin * Math.max(maxx - minx, maxy - miny, 1);
    return [(minx + maxx - side) / 2, (miny + maxy - side) / 2, side];
  }

  function drawMesh(c) {
    var cv = c.mesh, ctx = cv.getContext("2d"), W = cv.width, H = cv.height;
    ctx.fillStyle = BG;
    ctx.fillRect(0, 0, W, H);
    var p = c.landmarks;
    if (!p) return;
    var iw, ih, x0 = 0, y0 = 0;
    if (c.zoom) { // click: the face's box when zoom was asked, fixed so that motion stays visible
      if (!c.zoomBox) c.zoomBox = faceBox(p, 1.35);
      x0 = c.zoomBox[0]; y0 = c.zoomBox[1]; iw = ih = c.zoomBox[2];
    } else if (c.imageSize) {
      iw = c.imageSize[0];
      ih = c.imageSize[1];
    } else { // until the stats name the image size: fit the face itself
      var box = faceBox(p, 1.6);
      x0 = box[0]; y0 = box[1]; iw = ih = box[2];
    }
    var s = Math.min(W / iw, H / ih), ox = (W - iw * s) / 2 - x0 * s, oy = (H - ih * s) / 2 - y0 * s;
    function X(k) { return ox + p[3 * k] * s; }
    function Y(k) { return oy + p[3 * k + 1] * s; }
    function strokeEdges(edges, color, width) {
      ctx.beginPath();
      for (var e = 0; e < edges.length; e += 2) {
        ctx.moveTo(X(edges[e]), Y(edges[e]));
        ctx.lineTo(X(edges[e + 1]), Y(edges[e + 1]));
      }
      ctx.strokeStyle = color;
      ctx.lineWidth = width;
      ctx.stroke();
    }
    if (topology) {
      strokeEdges(topology.edges, "rgba(96, 150, 230, 0.45)", 1);
      topology.contours.forEach(function (cc) { strokeEdges(cc[1], cc[0], 1.6); });
    } else {
      ctx.fillStyle = "#6b9be6";
      for (var k = 0; k < 478; k++) ctx.fillRect(X(k) - 1, Y(k) - 1, 2, 2);
    }
    hooks.meshDraws[c.avatar] = (hooks.meshDraws[c.avatar] || 0) + 1;
  }

  function median(xs) {
    if (!xs.length) return null;
    var s = xs.slice().sort(function (a, b) { return a - b; });
    return s[s.length >> 1];
  }

  function drawCard(c, t) {
    var h = c.header, info = c.info || {};
    while (c.arrivals.length && c.arrivals[0] < t - 1000) c.arrivals.shift();
    var fps = c.arrivals.length;
    hooks.fps[c.avatar] = fps;
    var lat = median(c.latencies);
    hooks.latencyMs[c.avatar] = lat;
    var mode = (h && h.mode) || info.mode || "idle", emotion = (h && h.emotion) || info.emotion || "neutral";
    c.mode.textContent = mode;
    c.mode.className = "badge mode " + mode;
    c.emotion.textContent = emotion;
    c.emotion.className = "badge emotion " + String(emotion).split(":")[0];
    var utt = h ? h.utterance : info.utterance;
    c.utt.textContent = utt ? "utterance " + utt + (h ? ", pts " + h.pts.toFixed(2) + " s" + (h.final ? " (end)" : "") : "") : "";
    c.live.textContent = fps + " frames/s" + (lat !== null && fps ? " · latency " + Math.round(lat) + " ms" : "") +
      " · " + (hooks.framesReceived[c.avatar] || 0) + " frames";
    if (!c.dirty) return;
    c.dirty = false;
    if (info.video) c.videoView.hidden = false;
    drawMesh(c);
    if (c.headPose) {
      for (var i = 0; i < 6; i++) c.pose[i].textContent = fmt(c.headPose[i], i < 3 ? 1 : 2);
    }
    if (c.blendshapes) {
      for (var k = 0; k < c.rows.length; k++) {
        var v = c.blendshapes[k], r = c.rows[k];
        if (Math.abs(v - r.last) < 0.002) continue;
        r.last = v;
        var clamped = Math.max(0, Math.min(1, v));
        r.fill.style.transform = "scaleX(" + clamped + ")";
        r.val.textContent = v.toFixed(2);
        r.row.classList.toggle("on", v > 0.05);
      }
    }
  }

  function frameLoop() {
    var t = now();
    Object.keys(cards).forEach(function (a) { drawCard(cards[a], t); });
    dirty = false;
    requestAnimationFrame(frameLoop);
  }

  // ------------------------------------------------------------------ connection
  var ws = null, backoff = 0, retryTimer = null;

  function setConn(ok, text) {
    hooks.connected = ok;
    var e = document.getElementById("conn");
    e.className = "conn " + (ok ? "on" : "off");
    e.textContent = text;
  }

  function connect() {
    retryTimer = null;
    loadTopology();
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws";
    try {
      ws = new WebSocket(url);
    } catch (e) {
      return retry();
    }
    ws.binaryType = "arraybuffer";
    ws.onmessage = function (ev) {
      var received = now();
      if (typeof ev.data === "string") { hooks.decodeErrors++; return; }
      try {
        onMessage(ev.data, received);
      } catch (e) {
        hooks.decodeErrors++;
        hooks.lastError = String(e);
      }
    };
    ws.onclose = function () {
      ws = null;
      retry();
    };
    ws.onerror = function () { /* onclose follows */ };
  }

  function retry() {
    if (retryTimer) return;
    var delay = Math.min(8000, 500 * Math.pow(2, backoff)) * (0.8 + 0.4 * Math.random());
    backoff = Math.min(backoff + 1, 5);
    hooks.reconnects++;
    setConn(false, "disconnected: retrying in " + (delay / 1000).toFixed(1) + " s");
    retryTimer = setTimeout(connect, delay);
  }

  document.addEventListener("visibilitychange", function () {
    // Back to a hidden tab that has been retrying slowly: try now.
    if (!document.hidden && !ws && retryTimer) { clearTimeout(retryTimer); connect(); }
  });

  connect();
  requestAnimationFrame(frameLoop);
})();
