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
  }
};
