/* Keyboard entry in the evaluation grid (table.grid): arrow keys move between cells, the letters R P E T N A set
   the level of the cell (Delete or Backspace clears it), and the cell saves itself (htmx, on change). After htmx
   swaps a saved cell, focus goes back to it unless the person has moved on. Without this script the selects work
   as plain form fields. */
(function () {
  "use strict";
  var LETTERS = { r: "R", p: "P", e: "E", t: "T", n: "N", a: "A", delete: "", backspace: "" };
  var lastFocused = null;

  function cellSelect(td) {
    return td ? td.querySelector("select") : null;
  }

  function neighbour(select, key) {
    var td = select.closest("td");
    var tr = td.parentElement;
    var index = td.cellIndex;
    if (key === "ArrowLeft" || key === "ArrowRight") {
      var cell = key === "ArrowLeft" ? td.previousElementSibling : td.nextElementSibling;
      while (cell && !cellSelect(cell)) {
        cell = key === "ArrowLeft" ? cell.previousElementSibling : cell.nextElementSibling;
      }
      return cellSelect(cell);
    }
    var row = key === "ArrowUp" ? tr.previousElementSibling : tr.nextElementSibling;
    while (row) {
      var target = cellSelect(row.cells[index]);
      if (target) { return target; }
      row = key === "ArrowUp" ? row.previousElementSibling : row.nextElementSibling;
    }
    return null;
  }

  document.addEventListener("keydown", function (event) {
    var select = event.target;
    if (!(select instanceof HTMLSelectElement) || !select.closest("table.grid td.cell")) { return; }
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    if (event.key.indexOf("Arrow") === 0) {
      event.preventDefault();
      var target = neighbour(select, event.key);
      if (target) { target.focus(); }
      return;
    }
    var level = LETTERS[event.key.toLowerCase()];
    if (level === undefined) { return; }
    event.preventDefault();
    if (select.value !== level) {
      select.value = level;
      select.dispatchEvent(new Event("change", { bubbles: true }));
    }
  });

  document.addEventListener("focusin", function (event) {
    var element = event.target;
    if (element && element.id && element.closest && element.closest("table.grid")) { lastFocused = element.id; }
  });

  /* Drag and drop in the order of an evaluation's competencies (.order-list): dropping an item submits the whole
     order with the hidden form named by data-order-form. The Monter / Descendre buttons remain the keyboard way. */
  function setUpOrdering(list) {
    var dragged = null;
    Array.prototype.forEach.call(list.querySelectorAll("li[data-node]"), function (item) {
      item.draggable = true;
      item.addEventListener("dragstart", function (event) {
        dragged = item;
        event.dataTransfer.effectAllowed = "move";
        event.dataTransfer.setData("text/plain", item.dataset.node);
      });
      item.addEventListener("dragover", function (event) {
        if (dragged && dragged !== item) { event.preventDefault(); }
      });
      item.addEventListener("drop", function (event) {
        if (!dragged || dragged === item) { return; }
        event.preventDefault();
        var box = item.getBoundingClientRect();
        list.insertBefore(dragged, event.clientY > box.top + box.height / 2 ? item.nextSibling : item);
        var form = document.getElementById(list.dataset.orderForm);
        var ids = Array.prototype.map.call(list.querySelectorAll("li[data-node]"), function (li) { return li.dataset.node; });
        form.elements.ordre.value = ids.join(",");
        form.submit();
      });
      item.addEventListener("dragend", function () { dragged = null; });
    });
  }

  function ready() {
    Array.prototype.forEach.call(document.querySelectorAll(".order-list[data-order-form]"), setUpOrdering);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", ready); } else { ready(); }

  document.addEventListener("htmx:afterSettle", function () {
    var active = document.activeElement;
    if (lastFocused && (!active || active === document.body)) {
      var element = document.getElementById(lastFocused);
      if (element) { element.focus(); }
    }
  });
})();
