// Sorting and filtering of the class summary's table: plain DOM, no framework, no network.
(function () {
  "use strict";
  var table = document.getElementById("submissions");
  var body = table.tBodies[0];
  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var filter = document.getElementById("filter");
  var status = document.getElementById("status-filter");
  var count = document.getElementById("shown-count");

  function key(row, index, numeric) {
    var cell = row.cells[index];
    var value = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort")
      : cell.textContent.trim();
    if (!numeric) { return value.toLowerCase(); }
    var number = parseFloat(value);
    return isNaN(number) ? -Infinity : number;
  }

  function sortBy(index) {
    var header = headers[index];
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    var numeric = header.getAttribute("data-type") === "number";
    headers.forEach(function (other) { other.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a, index, numeric), y = key(b, index, numeric);
      return (x < y ? -1 : x > y ? 1 : 0) * (ascending ? 1 : -1);
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  function applyFilter() {
    var words = filter.value.toLowerCase().trim().split(/\s+/).filter(Boolean);
    var wanted = status.value;
    var shown = 0;
    Array.prototype.forEach.call(body.rows, function (row) {
      var text = row.getAttribute("data-search") || "";
      var visible = (!wanted || row.getAttribute("data-status") === wanted) &&
        words.every(function (word) { return text.indexOf(word) !== -1; });
      row.hidden = !visible;
      if (visible) { shown += 1; }
    });
    count.textContent = shown + " of " + body.rows.length + " submissions shown";
  }

  headers.forEach(function (header, index) {
    var button = header.querySelector("button.sort");
    if (button) { button.addEventListener("click", function () { sortBy(index); }); }
  });
  filter.addEventListener("input", applyFilter);
  status.addEventListener("change", applyFilter);
  document.documentElement.classList.add("js");
  applyFilter();
}());
