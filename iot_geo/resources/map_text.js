/* iot-geo: tooltips and popups built from JSON data with textContent, so that a user's text is shown as
   written and is never read as HTML or code (folium's own tooltips and popups build HTML in template literals). */
var iotGeo = {
  /* lines of text; with more than one, the first is the heading */
  lines: function (lines) {
    var div = document.createElement("div");
    div.className = "iot-detail";
    lines.forEach(function (text, i) {
      var row = document.createElement("div");
      if (i === 0 && lines.length > 1) { row.className = "iot-head"; }
      row.textContent = text;
      div.appendChild(row);
    });
    return div;
  },
  /* a function of a GeoJSON feature's layer: a table of the given properties (empty ones left out) */
  fields: function (fields, aliases) {
    return function (layer) {
      var props = (layer.feature && layer.feature.properties) || {};
      var table = document.createElement("table");
      table.className = "iot-detail";
      fields.forEach(function (f, i) {
        var v = props[f];
        if (v === null || v === undefined || v === "") { return; }
        var row = table.insertRow();
        var th = document.createElement("th");
        th.textContent = aliases[i];
        row.appendChild(th);
        row.insertCell().textContent = String(v);
      });
      return table;
    };
  },
  /* permanent small labels (text only) beside points: items are [lat, lon, text, isHub]; not interactive */
  labels: function (group, items) {
    items.forEach(function (it) {
      var div = document.createElement("div");
      div.className = "iot-label" + (it[3] ? " iot-label-hub" : "");
      div.textContent = it[2];
      L.marker([it[0], it[1]], {
        icon: L.divIcon({className: "iot-label-icon", html: div, iconSize: null, iconAnchor: [-9, 8]}),
        interactive: false, keyboard: false, iotKind: "label"
      }).addTo(group);
    });
  },
  /* a small control that fills the overlap zones or draws them as outlines (the default) */
  overlapToggle: function (map, layer, fill) {
    var root = document.documentElement;
    var set = function (filled) {
      layer.setStyle({fillOpacity: filled ? fill : 0});
      root.setAttribute("data-iot-overlap-style", filled ? "filled" : "outline");
    };
    var control = L.control({position: "topleft"});
    control.onAdd = function () {
      var div = L.DomUtil.create("div", "leaflet-bar iot-toggle");
      var label = document.createElement("label");
      var box = document.createElement("input");
      box.type = "checkbox";
      box.id = "iot-overlap-fill";
      box.addEventListener("change", function () { set(box.checked); });
      label.appendChild(box);
      label.appendChild(document.createTextNode(" fill overlaps"));
      div.appendChild(label);
      L.DomEvent.disableClickPropagation(div);
      return div;
    };
    control.addTo(map);
    set(false);
  },
  /* on a narrow screen the layer list starts collapsed (a button that opens it) */
  collapseOnSmall: function (map, control, maxWidth) {
    if (window.matchMedia("(max-width: " + maxWidth + "px)").matches) {
      control.remove();
      control.options.collapsed = true;
      control.addTo(map);
    }
  }
};
